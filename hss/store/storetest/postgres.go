package storetest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", to create the test schema

	"github.com/imscore/imscore/pkg/testutil"
)

// PostgresEnv names the DSN of a PostgreSQL database the tests may use
// (scripts/pg-test-db.sh prints one).
const PostgresEnv = "IMS_TEST_POSTGRES_DSN"

// PostgresDSN returns a DSN whose search_path is a new schema of its own, dropped when the test
// ends, so tests run in parallel on one database. Without IMS_TEST_POSTGRES_DSN the test is
// skipped, or fails when IMS_REQUIRE_TOOLS=1.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		if os.Getenv(testutil.RequireToolsEnv) == "1" {
			t.Fatalf("%s is not set (required: %s=1); scripts/pg-test-db.sh prints one", PostgresEnv, testutil.RequireToolsEnv)
		}
		t.Skipf("%s not set; export IMS_TEST_POSTGRES_DSN=\"$(scripts/pg-test-db.sh)\" to run on PostgreSQL", PostgresEnv)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	b := make([]byte, 6)
	rand.Read(b)
	schema := "hss_test_" + hex.EncodeToString(b)
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("postgres at %s: %v", PostgresEnv, err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
