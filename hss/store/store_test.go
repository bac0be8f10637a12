package store_test

import (
	"path/filepath"
	"testing"

	"github.com/imscore/imscore/hss/store"
	"github.com/imscore/imscore/hss/store/storetest"
)

func openStore(t *testing.T, cfg store.Config) store.Store {
	t.Helper()
	s, err := store.Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLite(t *testing.T) {
	storetest.RunSuite(t, func(t *testing.T) store.Store {
		return openStore(t, store.Config{Driver: store.DriverSQLite, DSN: filepath.Join(t.TempDir(), "hss.db")})
	})
}

func TestPostgres(t *testing.T) {
	storetest.PostgresDSN(t) // skips the whole test without a server
	storetest.RunSuite(t, func(t *testing.T) store.Store {
		return openStore(t, store.Config{Driver: store.DriverPostgres, DSN: storetest.PostgresDSN(t)})
	})
}
