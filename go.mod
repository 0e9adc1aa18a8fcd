module github.com/tcpfsm/tcpfsm

go 1.25.0

require (
	github.com/fatih/color v1.19.0
	github.com/google/gopacket v1.1.19
	github.com/mattn/go-isatty v0.0.20
	github.com/spf13/pflag v1.0.10
)

require (
	github.com/mattn/go-colorable v0.1.14 // indirect
	golang.org/x/net v0.0.0-20190620200207-3b0461eec859 // indirect
	golang.org/x/sys v0.42.0 // indirect
)
