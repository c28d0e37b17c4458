/*
Copyright 2026 The nstance-issuer Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Command local-kms serves github.com/nsmithuk/local-kms, an AWS KMS
// emulator, on a loopback address only (its own main listens on every
// interface), for the tests and the benchmark: make local-kms builds it
// into bin/. It prints "listening on http://<addr>" once it accepts
// connections and serves until it is killed.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"

	"github.com/nsmithuk/local-kms/src"
	"github.com/nsmithuk/local-kms/src/config"
	"github.com/nsmithuk/local-kms/src/data"
	log "github.com/sirupsen/logrus"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "Address to listen on (loopback).")
	dir := flag.String("data", "", "Directory of the emulator's database (required).")
	account := flag.String("account", "111122223333", "AWS account id of the keys.")
	region := flag.String("region", "eu-west-2", "AWS region of the keys.")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "local-kms: -data is required")
		os.Exit(2)
	}
	log.SetOutput(io.Discard)
	config.AWSAccountId, config.AWSRegion, config.DatabasePath = *account, *region, *dir
	db := data.NewDatabase(*dir)
	defer db.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "local-kms:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	err = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { src.HandleRequest(w, r, db) }))
	fmt.Fprintln(os.Stderr, "local-kms:", err)
	os.Exit(1)
}
