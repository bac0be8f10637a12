package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestUpgradeFromVersion1 opens a database file written by schema version 1 and checks that
// the upgrade keeps its data and backfills the per-IMPI S-CSCF of step 2.
func TestUpgradeFromVersion1(t *testing.T) {
	ctx := context.Background()
	cfg := Config{Driver: DriverSQLite, DSN: filepath.Join(t.TempDir(), "hss.db")}
	old, err := open(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := schemaVersion(old.db); v != 1 {
		t.Fatalf("schema version %d, want 1", v)
	}
	// What a version-1 HSS wrote: a registered subscriber, S-CSCF recorded per IMPU only.
	for _, stmt := range []string{
		`INSERT INTO subscribers VALUES ('001010000000001', '15550001', TRUE, 10, 20, '', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`,
		`INSERT INTO auth_data VALUES ('001010000000001', '` + strings.Repeat("11", 16) + `', '` + strings.Repeat("22", 16) + `', '', '8000', 41, 'milenage', '')`,
		`INSERT INTO subscriber_apns VALUES ('001010000000001', 'ims', 0)`,
		`INSERT INTO ims_subscriptions VALUES ('alice@ims.example', '001010000000001', 'default', NULL, '', '', '', '')`,
		`INSERT INTO impus VALUES ('sip:alice@ims.example', 'alice@ims.example', 0, FALSE, '1', TRUE, 'REGISTERED', 'sip:127.0.0.1:6060')`,
		`INSERT INTO impus VALUES ('tel:+15550001', 'alice@ims.example', 1, FALSE, '1', FALSE, 'REGISTERED', 'sip:127.0.0.1:6060')`,
	} {
		if err := old.db.Exec(stmt).Error; err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	for range 2 { // the second open finds nothing to do
		s, err := Open(cfg)
		if err != nil {
			t.Fatalf("upgrade: %v", err)
		}
		var versions []int
		if err := s.db.Model(&migrationRow{}).Order("version").Pluck("version", &versions).Error; err != nil {
			t.Fatal(err)
		}
		if len(versions) != SchemaVersion || versions[len(versions)-1] != SchemaVersion {
			t.Fatalf("recorded versions %v, want 1..%d", versions, SchemaVersion)
		}
		sub, err := s.SubscriberByIMPU(ctx, "tel:+15550001")
		if err != nil {
			t.Fatal(err)
		}
		if sub.IMSI != "001010000000001" || sub.MSISDN != "15550001" || sub.Auth.SQN != 41 || sub.AMBRDL != 20 ||
			len(sub.APNs) != 1 || len(sub.IMS.IMPUs) != 2 || sub.IMS.IMPUs[0].State != StateRegistered {
			t.Fatalf("data changed by the upgrade: %+v %+v", sub, sub.IMS)
		}
		if sub.IMS.SCSCFName != "sip:127.0.0.1:6060" {
			t.Fatalf("IMPI S-CSCF %q not backfilled from its IMPUs", sub.IMS.SCSCFName)
		}
		s.Close()
	}
}

// TestUpgradeFromVersion2 opens a database file written by schema version 2 and checks that
// step 3 keeps its data and adds the S-CSCF Origin-Host records, which then outlive a restart.
func TestUpgradeFromVersion2(t *testing.T) {
	ctx := context.Background()
	cfg := Config{Driver: DriverSQLite, DSN: filepath.Join(t.TempDir(), "hss.db")}
	old, err := open(cfg, 2)
	if err != nil {
		t.Fatal(err)
	}
	// What a version-2 HSS wrote: a subscriber registered at an S-CSCF, its Origin-Host nowhere.
	for _, stmt := range []string{
		`INSERT INTO subscribers VALUES ('001010000000001', '15550001', TRUE, 10, 20, '', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`,
		`INSERT INTO auth_data VALUES ('001010000000001', '` + strings.Repeat("11", 16) + `', '` + strings.Repeat("22", 16) + `', '', '8000', 41, 'milenage', '')`,
		`INSERT INTO ims_subscriptions VALUES ('alice@ims.example', '001010000000001', 'default', NULL, '', '', '', '', 'sip:127.0.0.1:6060')`,
		`INSERT INTO impus VALUES ('sip:alice@ims.example', 'alice@ims.example', 0, FALSE, '1', TRUE, 'REGISTERED', 'sip:127.0.0.1:6060')`,
	} {
		if err := old.db.Exec(stmt).Error; err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	if v, _ := schemaVersion(s.db); v != 3 || SchemaVersion < 3 {
		t.Fatalf("schema version %d after the upgrade, want 3", v)
	}
	a, err := s.AuthByIMPI(ctx, "alice@ims.example", "sip:alice@ims.example")
	if err != nil || a.IMSI != "001010000000001" || a.Auth.SQN != 41 || a.IMPU == nil || a.IMPU.State != StateRegistered {
		t.Fatalf("data changed by the upgrade: %+v, %v", a, err)
	}
	if _, err := s.SCSCFHost(ctx, "sip:127.0.0.1:6060"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SCSCFHost before any was learned: %v", err)
	}
	if err := s.SetSCSCFHost(ctx, "sip:127.0.0.1:6060", "scscf.ims.example"); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(cfg) // a restart
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if host, err := s.SCSCFHost(ctx, "sip:127.0.0.1:6060"); err != nil || host != "scscf.ims.example" {
		t.Fatalf("after restart: SCSCFHost = %q, %v", host, err)
	}
}

func TestRefuseNewerSchema(t *testing.T) {
	cfg := Config{Driver: DriverSQLite, DSN: filepath.Join(t.TempDir(), "hss.db")}
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.Create(&migrationRow{Version: SchemaVersion + 1, Description: "from the future"}).Error; err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(cfg); err == nil || !strings.Contains(err.Error(), "newer") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open of a newer schema: %v", err)
	}
}

// TestSQNSurvivesRestart: an SQN handed out before a restart is never handed out again.
func TestSQNSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	cfg := Config{Driver: DriverSQLite, DSN: filepath.Join(t.TempDir(), "data", "hss.db")}
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sub := &Subscriber{IMSI: "001010000000001", Auth: Auth{K: make([]byte, 16), OPc: make([]byte, 16),
		AMF: []byte{0x80, 0}, Algorithm: AlgorithmMilenage}}
	if err := s.CreateSubscribers(ctx, sub); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReserveSQN(ctx, sub.IMSI, 32); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, err := s.ReserveSQN(ctx, sub.IMSI, 1)
	if err != nil || a.SQN != 33 {
		t.Fatalf("after restart: SQN %d, %v; want 33", a.SQN, err)
	}
}

func TestConfig(t *testing.T) {
	var c Config
	c.Defaults("./data")
	if err := c.Validate(); err != nil || c.DSN != filepath.Join("data", "hss.db") {
		t.Fatalf("defaults %+v: %v", c, err)
	}
	err := Config{Driver: "oracle"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "driver") || !strings.Contains(err.Error(), "dsn") {
		t.Fatalf("want both problems reported, got %v", err)
	}
}
