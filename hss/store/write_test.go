package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// TestWriterBeginsImmediate: a transaction of the writer pool begun by database/sql, as
// SetRegistration's, takes SQLite's write lock at BEGIN (the DSN's _txlock=immediate), so that
// writers queue for the lock instead of failing to upgrade a read lock.
func TestWriterBeginsImmediate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hss.db")
	s, err := Open(Config{Driver: DriverSQLite, DSN: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tx, err := s.auth.writer.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Exec("BEGIN IMMEDIATE"); err == nil {
		t.Fatal("another connection took the write lock during the writer's transaction")
	}
}
