package capture

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The recorded and hostile captures are seed corpora for FuzzReader (each
// file) and FuzzDecode (the first frames of each), committed under
// testdata/fuzz as the go command reads them. go test -run FuzzSeeds
// -update-seeds writes them again; the test fails when they are stale.

var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz from the kernel and hostile captures")

// maxSeedFile leaves out the big captures: the fuzzer mutates small
// inputs far faster, and the small ones hold every link type.
const maxSeedFile = 8 << 10

// framesPerSeed is how many frames of each capture seed FuzzDecode.
const framesPerSeed = 4

func TestFuzzSeeds(t *testing.T) {
	want := map[string]string{} // path under testdata/fuzz -> corpus file
	for _, dir := range []string{"../testdata/kernel", "../testdata/hostile"} {
		paths, err := filepath.Glob(filepath.Join(dir, "*.pcap*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range paths {
			name := filepath.Base(path)
			if strings.Contains(name, ".golden.") {
				continue
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(data) > maxSeedFile {
				continue
			}
			seed := filepath.Base(dir) + "-" + name
			want[filepath.Join("FuzzReader", seed)] = corpusFile(data, false)
			src, _, err := openSource(bytes.NewReader(data))
			if err != nil {
				continue
			}
			var rec record
			for i := 0; i < framesPerSeed && src.next(&rec) == nil; i++ {
				want[filepath.Join("FuzzDecode", fmt.Sprintf("%s-%d", seed, i+1))] = corpusFile(uint16(rec.link), bytes.Clone(rec.data), rec.origLen-len(rec.data))
			}
		}
	}
	if len(want) < 50 {
		t.Fatalf("only %d seeds", len(want))
	}
	for path, content := range want {
		full := filepath.Join("testdata", "fuzz", path)
		if *updateSeeds {
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(full)
		if err != nil || string(got) != content {
			t.Errorf("%s is missing or stale: go test ./capture -run FuzzSeeds -update-seeds", full)
		}
	}
}

// corpusFile encodes values as a "go test fuzz v1" corpus file.
func corpusFile(values ...any) string {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, v := range values {
		switch v := v.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		default:
			fmt.Fprintf(&b, "%T(%v)\n", v, v)
		}
	}
	return b.String()
}
