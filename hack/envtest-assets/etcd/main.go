// Command etcd builds the etcd server from go.etcd.io/etcd/server/v3 so that
// controller-runtime's envtest can run without downloading release binaries.
// The version is pinned by go.mod; hack/envtest-assets.sh builds it.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
