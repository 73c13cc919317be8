// Package browsertest holds the headless-Chromium tests of the scan page
// (build tag browser, `make browser`) and the fake camera they use.
package browsertest

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io"
)

// WriteY4M writes a YUV4MPEG2 (4:2:0) video of frames copies of img,
// centred on a white width×height frame and scaled to fit with a margin:
// the file Chromium's fake capture device plays (--use-file-for-fake-video-capture).
// The format is a text header and raw planes; see
// https://wiki.multimedia.cx/index.php/YUV4MPEG2.
func WriteY4M(w io.Writer, img image.Image, width, height, fps, frames int) error {
	if width%2 != 0 || height%2 != 0 || frames < 1 || fps < 1 {
		return fmt.Errorf("y4m: want even sizes and at least one frame")
	}
	frame := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(frame, frame.Bounds(), image.White, image.Point{}, draw.Src)
	side := min(width, height) * 9 / 10
	b := img.Bounds()
	scale := min(float64(side)/float64(b.Dx()), float64(side)/float64(b.Dy()))
	dw, dh := int(float64(b.Dx())*scale), int(float64(b.Dy())*scale)
	dst := image.Rect((width-dw)/2, (height-dh)/2, (width+dw)/2, (height+dh)/2)
	for py := dst.Min.Y; py < dst.Max.Y; py++ { // nearest neighbour keeps the modules sharp
		for px := dst.Min.X; px < dst.Max.X; px++ {
			frame.Set(px, py, img.At(b.Min.X+(px-dst.Min.X)*b.Dx()/dw, b.Min.Y+(py-dst.Min.Y)*b.Dy()/dh))
		}
	}

	y := make([]byte, width*height)
	u := make([]byte, width*height/4)
	v := make([]byte, width*height/4)
	for py := range height {
		for px := range width {
			c := frame.RGBAAt(px, py)
			yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
			y[py*width+px] = yy
			if px%2 == 0 && py%2 == 0 {
				i := py/2*(width/2) + px/2
				u[i], v[i] = cb, cr
			}
		}
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "YUV4MPEG2 W%d H%d F%d:1 Ip A1:1 C420jpeg\n", width, height, fps)
	for range frames {
		bw.WriteString("FRAME\n")
		bw.Write(y)
		bw.Write(u)
		bw.Write(v)
	}
	return bw.Flush()
}
