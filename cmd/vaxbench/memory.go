package main

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// sampleEvery is how often memory is sampled during ingest and issuance.
const sampleEvery = 200 * time.Millisecond

// progressMarks are the points of progress, in percent, at which the
// memory peaks are reported; 0 is before the first item is done.
var progressMarks = []int{0, 25, 50, 100}

// MemPoint is the peak memory up to a point of a phase's progress.
type MemPoint struct {
	// Percent is the point of progress; Done the items done by then.
	Percent int   `json:"percent"`
	Done    int64 `json:"done"`
	// Samples counts the samples taken up to that point; without any the
	// peaks are zero.
	Samples int `json:"samples"`
	// HeapInuseMiB is the peak of runtime.MemStats.HeapInuse; RSSMiB the
	// peak resident set size (VmRSS, Linux only).
	HeapInuseMiB float64 `json:"heap_inuse_mib"`
	RSSMiB       float64 `json:"rss_mib"`
}

// memSample is one sample: progress and memory in bytes.
type memSample struct {
	done      int64
	heap, rss uint64
}

// sampler samples memory and progress periodically until stopped.
type sampler struct {
	progress func() int64
	stop     chan struct{}
	wg       sync.WaitGroup
	samples  []memSample
}

// startSampler samples now and then every interval, reading progress with
// the given function.
func startSampler(interval time.Duration, progress func() int64) *sampler {
	s := &sampler{progress: progress, stop: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			s.take()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *sampler) take() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.samples = append(s.samples, memSample{done: s.progress(), heap: ms.HeapInuse, rss: rss()})
}

// finish stops sampling, takes a last sample and returns the peaks at
// progressMarks of total.
func (s *sampler) finish(total int64) []MemPoint {
	close(s.stop)
	s.wg.Wait()
	s.take()
	return peaks(s.samples, total, progressMarks)
}

// peaks returns, for each mark (percent of total), the highest heap and
// RSS among the samples taken with at most that much progress.
func peaks(samples []memSample, total int64, marks []int) []MemPoint {
	out := make([]MemPoint, len(marks))
	for i, m := range marks {
		p := &out[i]
		p.Percent, p.Done = m, total*int64(m)/100
		var heap, rss uint64
		for _, s := range samples {
			if s.done <= p.Done {
				p.Samples++
				heap, rss = max(heap, s.heap), max(rss, s.rss)
			}
		}
		p.HeapInuseMiB, p.RSSMiB = mib(heap), mib(rss)
	}
	return out
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// rss returns the process's resident set size from /proc/self/status, or
// 0 where that is unavailable.
func rss() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:")); ok {
			kb, err := strconv.ParseUint(string(bytes.TrimSuffix(bytes.TrimSpace(v), []byte(" kB"))), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// loadAverage returns the 1-minute load average from /proc/loadavg, or -1
// where that is unavailable.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := bytes.Fields(b)
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(string(f[0]), 64)
	if err != nil {
		return -1
	}
	return v
}
