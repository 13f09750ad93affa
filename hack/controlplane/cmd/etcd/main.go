// tidemark hack/controlplane/cmd/etcd: a minimal etcd for the test control plane.
//
// It runs a real single-member etcd server in-process via
// go.etcd.io/etcd/server/v3/embed, at exactly the etcd version that
// k8s.io/apiserver (k8s.io/kubernetes v1.37.2) requires, so no etcd release
// binary has to be downloaded. It listens on loopback only, keeps its state in
// --data-dir and exits cleanly (status 0) on SIGTERM/SIGINT.
// Started and stopped by hack/controlplane.sh.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

func mustURL(s string) url.URL {
	u, err := url.Parse(s)
	if err != nil {
		log.Fatalf("bad URL %q: %v", s, err)
	}
	return *u
}

func main() {
	dataDir := flag.String("data-dir", "", "directory for etcd data (required)")
	clientURL := flag.String("listen-client-url", "http://127.0.0.1:2379", "client URL (loopback)")
	peerURL := flag.String("listen-peer-url", "http://127.0.0.1:2380", "peer URL (loopback)")
	name := flag.String("name", "tidemark-test", "member name")
	logLevel := flag.String("log-level", "warn", "zap log level")
	noFsync := flag.Bool("unsafe-no-fsync", true, "skip fsync (test data only; much faster)")
	flag.Parse()
	if *dataDir == "" {
		fmt.Fprintln(os.Stderr, "etcd: --data-dir is required")
		os.Exit(2)
	}

	cfg := embed.NewConfig()
	cfg.Name = *name
	cfg.Dir = *dataDir
	cu, pu := mustURL(*clientURL), mustURL(*peerURL)
	cfg.ListenClientUrls = []url.URL{cu}
	cfg.AdvertiseClientUrls = []url.URL{cu}
	cfg.ListenPeerUrls = []url.URL{pu}
	cfg.AdvertisePeerUrls = []url.URL{pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = *logLevel
	cfg.UnsafeNoFsync = *noFsync

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		log.Fatalf("etcd: start: %v", err)
	}
	select {
	case <-e.Server.ReadyNotify():
		log.Printf("etcd: ready, serving clients on %s", cu.String())
	case <-time.After(60 * time.Second):
		e.Server.Stop()
		log.Fatalf("etcd: not ready after 60s")
	case <-ctx.Done():
		e.Close()
		os.Exit(0)
	}

	select {
	case <-ctx.Done():
		log.Printf("etcd: signal received, shutting down")
		e.Close()
		log.Printf("etcd: stopped")
	case err := <-e.Err():
		e.Close()
		log.Fatalf("etcd: server error: %v", err)
	}
}
