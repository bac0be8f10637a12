package store

import (
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// Schema migrations. The schema is written as ordered, numbered steps of plain SQL kept to what
// SQLite, PostgreSQL and MySQL all accept (VARCHAR, BIGINT, BOOLEAN, TEXT, foreign keys), and
// the applied steps are recorded in schema_migrations. We chose this over gorm's AutoMigrate
// because AutoMigrate only adds: it cannot rename, backfill or seed, and on SQLite it rebuilds a
// table to change a column, which with foreign keys on cascades deletes into child tables. A
// step is never edited once released; a schema change is a new step.
type migration struct {
	version     int
	description string
	stmts       []string
}

// {{timestamp}} is the one type the three databases spell differently: MySQL's TIMESTAMP has
// implicit defaults and ends in 2038.
var migrations = []migration{
	{1, "initial schema and the default APN profiles and iFC set", []string{
		`CREATE TABLE ifc_sets (
			name VARCHAR(64) NOT NULL PRIMARY KEY,
			description VARCHAR(255) NOT NULL DEFAULT '',
			ifc_xml TEXT NOT NULL,
			updated_at {{timestamp}} NOT NULL)`,
		`CREATE TABLE apn_profiles (
			name VARCHAR(100) NOT NULL PRIMARY KEY,
			qci INTEGER NOT NULL,
			arp_priority INTEGER NOT NULL,
			preemption_capability BOOLEAN NOT NULL,
			preemption_vulnerability BOOLEAN NOT NULL,
			ambr_ul BIGINT NOT NULL,
			ambr_dl BIGINT NOT NULL,
			pdn_type VARCHAR(16) NOT NULL)`,
		`CREATE TABLE scscf_capability_sets (
			name VARCHAR(64) NOT NULL PRIMARY KEY,
			mandatory_caps VARCHAR(1024) NOT NULL DEFAULT '',
			optional_caps VARCHAR(1024) NOT NULL DEFAULT '',
			server_names TEXT NOT NULL)`,
		`CREATE TABLE subscribers (
			imsi VARCHAR(15) NOT NULL PRIMARY KEY,
			msisdn VARCHAR(15) NULL,
			enabled BOOLEAN NOT NULL,
			ambr_ul BIGINT NOT NULL,
			ambr_dl BIGINT NOT NULL,
			mme_host VARCHAR(255) NOT NULL DEFAULT '',
			mme_realm VARCHAR(255) NOT NULL DEFAULT '',
			created_at {{timestamp}} NOT NULL,
			updated_at {{timestamp}} NOT NULL)`,
		`CREATE UNIQUE INDEX subscribers_msisdn ON subscribers (msisdn)`,
		`CREATE TABLE auth_data (
			imsi VARCHAR(15) NOT NULL PRIMARY KEY REFERENCES subscribers (imsi) ON DELETE CASCADE,
			k VARCHAR(32) NOT NULL DEFAULT '',
			op VARCHAR(32) NOT NULL DEFAULT '',
			opc VARCHAR(32) NOT NULL DEFAULT '',
			amf VARCHAR(4) NOT NULL,
			sqn BIGINT NOT NULL,
			algorithm VARCHAR(16) NOT NULL,
			password VARCHAR(255) NOT NULL DEFAULT '')`,
		`CREATE TABLE subscriber_apns (
			imsi VARCHAR(15) NOT NULL REFERENCES subscribers (imsi) ON DELETE CASCADE,
			apn VARCHAR(100) NOT NULL REFERENCES apn_profiles (name),
			ord INTEGER NOT NULL,
			PRIMARY KEY (imsi, apn))`,
		`CREATE INDEX subscriber_apns_apn ON subscriber_apns (apn)`,
		`CREATE TABLE ims_subscriptions (
			impi VARCHAR(255) NOT NULL PRIMARY KEY,
			imsi VARCHAR(15) NOT NULL REFERENCES subscribers (imsi) ON DELETE CASCADE,
			ifc_set VARCHAR(64) NULL REFERENCES ifc_sets (name),
			capability_set VARCHAR(64) NULL REFERENCES scscf_capability_sets (name),
			ccf_primary VARCHAR(255) NOT NULL DEFAULT '',
			ccf_secondary VARCHAR(255) NOT NULL DEFAULT '',
			ecf_primary VARCHAR(255) NOT NULL DEFAULT '',
			ecf_secondary VARCHAR(255) NOT NULL DEFAULT '')`,
		`CREATE UNIQUE INDEX ims_subscriptions_imsi ON ims_subscriptions (imsi)`,
		`CREATE INDEX ims_subscriptions_ifc_set ON ims_subscriptions (ifc_set)`,
		`CREATE TABLE impus (
			uri VARCHAR(255) NOT NULL PRIMARY KEY,
			impi VARCHAR(255) NOT NULL REFERENCES ims_subscriptions (impi) ON DELETE CASCADE,
			ord INTEGER NOT NULL,
			barred BOOLEAN NOT NULL,
			irs_id VARCHAR(64) NOT NULL,
			is_default BOOLEAN NOT NULL,
			reg_state VARCHAR(16) NOT NULL,
			scscf_name VARCHAR(255) NOT NULL DEFAULT '')`,
		`CREATE INDEX impus_impi ON impus (impi)`,
		// The names CONTRACT.md's example subscriber uses, so that it can be created as is.
		`INSERT INTO apn_profiles VALUES ('internet', 9, 8, FALSE, TRUE, 100000000, 100000000, 'ipv4v6')`,
		`INSERT INTO apn_profiles VALUES ('ims', 5, 1, TRUE, FALSE, 1000000, 1000000, 'ipv4v6')`,
		`INSERT INTO ifc_sets VALUES ('default', 'no application servers; edit to add iFCs', '<InitialFilterCriteriaSet></InitialFilterCriteriaSet>', CURRENT_TIMESTAMP)`,
	}},
	{2, "S-CSCF name per private identity, backfilled from its public identities", []string{
		`ALTER TABLE ims_subscriptions ADD COLUMN scscf_name VARCHAR(255) NOT NULL DEFAULT ''`,
		`UPDATE ims_subscriptions SET scscf_name = COALESCE((SELECT MAX(impus.scscf_name) FROM impus
			WHERE impus.impi = ims_subscriptions.impi AND impus.scscf_name <> ''), '')`,
	}},
	{3, "Diameter Origin-Host of each S-CSCF, for RTR and PPR after a restart", []string{
		`CREATE TABLE scscf_hosts (
			server_name VARCHAR(255) NOT NULL PRIMARY KEY,
			origin_host VARCHAR(255) NOT NULL,
			updated_at {{timestamp}} NOT NULL)`,
	}},
}

// SchemaVersion is the schema this code reads and writes.
var SchemaVersion = migrations[len(migrations)-1].version

type migrationRow struct {
	Version     int    `gorm:"column:version;primaryKey"`
	Description string `gorm:"column:description"`
}

func (migrationRow) TableName() string { return "schema_migrations" }

// migrate applies, in order, every step above the recorded version up to target, each in its
// own transaction with its record (MySQL commits DDL implicitly, so there a failed step may
// leave part of itself behind; SQLite and PostgreSQL roll it back whole).
func migrate(db *gorm.DB, dialect string, target int) error {
	ts := "TIMESTAMP"
	if dialect == DriverMySQL {
		ts = "DATETIME(6)"
	}
	if err := db.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER NOT NULL PRIMARY KEY,
		description VARCHAR(255) NOT NULL)`).Error; err != nil {
		return fmt.Errorf("schema_migrations: %w", err)
	}
	for _, m := range migrations {
		if m.version > target {
			break
		}
		err := db.Transaction(func(tx *gorm.DB) error {
			if dialect == DriverPostgres {
				// Two HSS processes starting together on one database: the second waits, then
				// sees the step recorded and skips it.
				if err := tx.Exec(`LOCK TABLE schema_migrations IN EXCLUSIVE MODE`).Error; err != nil {
					return err
				}
			}
			var done migrationRow
			err := tx.Where("version = ?", m.version).Take(&done).Error
			if err == nil {
				return nil
			}
			if !errors.Is(err, gorm.ErrRecordNotFound) {
				return err
			}
			for _, stmt := range m.stmts {
				if err := tx.Exec(strings.ReplaceAll(stmt, "{{timestamp}}", ts)).Error; err != nil {
					return err
				}
			}
			return tx.Create(&migrationRow{Version: m.version, Description: m.description}).Error
		})
		if err != nil {
			return fmt.Errorf("schema migration %d (%s): %w", m.version, m.description, err)
		}
	}
	return nil
}

// schemaVersion is the highest step recorded.
func schemaVersion(db *gorm.DB) (int, error) {
	var v *int
	err := db.Model(&migrationRow{}).Select("MAX(version)").Scan(&v).Error
	if err != nil || v == nil {
		return 0, err
	}
	return *v, nil
}
