package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// startProfiles starts the CPU profile --cpuprofile asks for, and returns
// the function that ends it and writes the heap profile --memprofile asks
// for. Either name may be empty. The files are created before any packet
// is read, so a name that cannot be written is a usage error, not a run
// lost at its end.
func startProfiles(cpuName, memName string) (stop func() error, err error) {
	var cpu, mem *os.File
	if cpuName != "" {
		if cpu, err = os.Create(cpuName); err != nil {
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
		if err = pprof.StartCPUProfile(cpu); err != nil {
			cpu.Close()
			return nil, fmt.Errorf("--cpuprofile %s: %w", cpuName, err)
		}
	}
	if memName != "" {
		if mem, err = os.Create(memName); err != nil {
			if cpu != nil {
				pprof.StopCPUProfile()
				cpu.Close()
			}
			return nil, fmt.Errorf("--memprofile: %w", err)
		}
	}
	return func() error {
		var errs []error
		if cpu != nil {
			pprof.StopCPUProfile()
			if err := cpu.Close(); err != nil {
				errs = append(errs, fmt.Errorf("--cpuprofile: %w", err))
			}
		}
		if mem != nil {
			// What is still reachable once the report is written: the
			// profile's inuse figures; its alloc figures cover the run.
			runtime.GC()
			err := pprof.Lookup("allocs").WriteTo(mem, 0)
			if cerr := mem.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("--memprofile %s: %w", memName, err))
			}
		}
		return errors.Join(errs...)
	}, nil
}
