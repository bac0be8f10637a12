package store

import (
	"path/filepath"

	"github.com/imscore/imscore/pkg/config"
)

// Database drivers.
const (
	// DriverSQLite is the embedded default (pure Go, no cgo); the DSN is a file path.
	DriverSQLite = "sqlite"
	// DriverPostgres takes a libpq/pgx DSN: postgres://user:pass@host:5432/db?sslmode=disable.
	DriverPostgres = "postgres"
	// DriverMySQL takes a go-sql-driver DSN: user:pass@tcp(host:3306)/db.
	DriverMySQL = "mysql"
)

// Config chooses the database.
type Config struct {
	Driver string `yaml:"driver"`
	DSN    string `yaml:"dsn"`
}

// Defaults sets the embedded SQLite database hss.db in dataDir.
func (c *Config) Defaults(dataDir string) {
	c.Driver = DriverSQLite
	c.DSN = filepath.Join(dataDir, "hss.db")
}

// Validate reports an unknown driver and an empty DSN.
func (c Config) Validate() error {
	var p config.Problems
	switch c.Driver {
	case DriverSQLite, DriverPostgres, DriverMySQL:
	default:
		p.Addf("driver", "%q is not sqlite, postgres or mysql", c.Driver)
	}
	if c.DSN == "" {
		p.Addf("dsn", "is empty")
	}
	return p.Err()
}
