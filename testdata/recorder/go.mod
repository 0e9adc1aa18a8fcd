module github.com/tcpfsm/tcpfsm/testdata/recorder

go 1.26

require golang.org/x/sys v0.42.0
