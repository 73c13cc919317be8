package service

import (
	"bufio"
	"fmt"
	"io"
)

// WriteSyntheticNDJSON writes a bulk upload of synthetic, valid dose
// records for load tests: persons lines, each one person (national IDs
// from firstID on, 12 digits) with dosesPerPerson finalised Comirnaty doses
// (at most 9) reported by site. The perf command and the benchmarks feed it
// to [Service.IngestBatch].
func WriteSyntheticNDJSON(w io.Writer, site string, persons, dosesPerPerson int, firstID int64) error {
	bw := bufio.NewWriter(w)
	for i := range int64(persons) {
		id := firstID + i
		fmt.Fprintf(bw, `{"person":{"id":"%012d","family_name":"Nguyễn","given_name":"Văn Đức","birth_date":"1990-04-12"},"doses":[`, id)
		for dn := 1; dn <= dosesPerPerson; dn++ {
			if dn > 1 {
				bw.WriteByte(',')
			}
			fmt.Fprintf(bw, `{"record_id":"%012d-%d","site":"%s","product":"EU/1/20/1528","manufacturer":"ORG-100030215",`+
				`"lot":"LOT%d","dose_number":%d,"series_doses":2,"date":"2021-0%d-01","country":"VN","status":"finalised"}`,
				id, dn, site, dn, dn, dn)
		}
		bw.WriteString("]}\n")
	}
	return bw.Flush()
}
