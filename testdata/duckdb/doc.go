// Package duckdb checks tcpfsm's Parquet output with DuckDB: the queries
// docs/scale.md shows, run on the files of a sharded run, give what the
// JSON report of one run says. It is a module of its own so that tcpfsm
// never depends on DuckDB (cgo, and a big static library); its test builds
// tcpfsm and tcpgen from the enclosing module and runs them.
package duckdb
