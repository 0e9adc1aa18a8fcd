package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"

	"github.com/tcpfsm/tcpfsm/report"
)

// progressMinSize is the smallest capture file that gets a progress bar:
// smaller ones are read before a bar would be worth looking at.
const progressMinSize = 8 << 20

// progress shows, on a terminal, how far reading capture files has got:
// bytes read of the files' total size, packets per second and the time
// left.
// It is the only use of the wall clock, and it writes only to stderr.
type progress struct {
	bar   *progressbar.ProgressBar
	read  func() int64 // the bytes read so far
	start time.Time
}

// wantProgress tells whether reading capture files of size bytes gets a
// progress bar on stderr: regular files of at least progressMinSize, stderr a terminal, and no -q. The bar never shares a
// terminal with a report being written, whose lines it would cut: when
// stdout is a terminal too, only a report that writes everything at the
// end gets one.
func wantProgress(o *options, size int64, stdout, stderr io.Writer) bool {
	return !o.quiet && size >= progressMinSize && isTerminal(stderr) &&
		(!isTerminal(stdout) || report.HoldsOutput(reportOptions(o, false)))
}

func isTerminal(w io.Writer) bool {
	if s, ok := w.(*stickyWriter); ok {
		w = s.w // standard output, watched for errors
	}
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// newProgress starts a bar for files of size bytes, of which read tells
// how many were read.
func newProgress(read func() int64, size int64, w io.Writer) *progress {
	bar := progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(w),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetWidth(30),
		progressbar.OptionSetDescription("reading"),
		progressbar.OptionClearOnFinish(),
	)
	return &progress{bar: bar, read: read, start: time.Now()}
}

// Update shows the bytes read so far and the packet rate.
func (p *progress) Update(packets uint64) {
	if secs := time.Since(p.start).Seconds(); secs > 0 {
		p.bar.Describe(fmt.Sprintf("%s packets/s", rate(float64(packets)/secs)))
	}
	p.bar.Set64(p.read())
}

// Finish removes the bar, so the report starts on a clean line.
func (p *progress) Finish() {
	p.bar.Finish()
}

func rate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2f M", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.0f k", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}
