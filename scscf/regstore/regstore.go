// Package regstore keeps the S-CSCF's registrations in its own gorm database (SQLite by
// default), so that a restart or SIGTERM loses none (issue 5). The registrar holds the live
// state in memory and writes its changes behind in batches (Apply) or one by one (Put, Delete);
// the store only saves and restores it.
package regstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"
)

// Contact is one binding of a registered public identity (RFC 3261 10.3), with the Path the
// REGISTER carried (RFC 3327 5.3: requests to the contact are routed through it).
type Contact struct {
	URI      string    `json:"uri"`
	Params   string    `json:"params,omitempty"` // header parameters as received, without expires
	Expires  time.Time `json:"expires"`
	Path     []string  `json:"path,omitempty"`
	CallID   string    `json:"call_id"`
	CSeq     uint32    `json:"cseq"`
	Received string    `json:"received,omitempty"` // source address of the REGISTER
}

// Subscription is a reg event subscription (RFC 3680) to the registration, by the UE or the
// P-CSCF; the S-CSCF is the notifier and keeps the dialog.
type Subscription struct {
	CallID     string    `json:"call_id"`
	FromTag    string    `json:"from_tag"`   // the subscriber's tag
	ToTag      string    `json:"to_tag"`     // ours
	Resource   string    `json:"resource"`   // the public identity subscribed to (To)
	Subscriber string    `json:"subscriber"` // the subscriber's URI (From)
	Contact    string    `json:"contact"`    // remote target of the NOTIFYs
	RouteSet   []string  `json:"route_set,omitempty"`
	CSeq       uint32    `json:"cseq"` // last CSeq we sent
	Version    uint32    `json:"version"`
	Expires    time.Time `json:"expires"`
	Notified   time.Time `json:"notified,omitzero"` // when the last NOTIFY was built
}

// Registration is the registration of one public identity (the To of the REGISTER) and its
// implicit registration set (TS 23.228 4.3.3.3).
type Registration struct {
	IMPU          string         `json:"impu"`
	IMPI          string         `json:"impi"`
	Implicit      []string       `json:"implicit"` // P-Associated-URI order, IMPU first
	UserData      string         `json:"user_data"`
	Contacts      []Contact      `json:"contacts"`
	Subscriptions []Subscription `json:"subscriptions,omitempty"`
}

// ErrNotFound is returned by Get for an identity with no registration.
var ErrNotFound = errors.New("regstore: registration not found")

// Store saves registrations.
type Store interface {
	Get(ctx context.Context, impu string) (*Registration, error)
	Put(ctx context.Context, r *Registration) error
	Delete(ctx context.Context, impu string) error
	// Apply writes puts and deletes in one transaction: all of them or none.
	Apply(ctx context.Context, puts []*Registration, deletes []string) error
	All(ctx context.Context) ([]*Registration, error)
	Close() error
}

// row is one registration, its state as JSON: the registrar reads it only at start.
type row struct {
	IMPU      string `gorm:"primaryKey"`
	IMPI      string `gorm:"index"`
	Data      []byte
	UpdatedAt time.Time
}

func (row) TableName() string { return "registrations" }

// DB is the gorm Store.
type DB struct{ db *gorm.DB }

var _ Store = (*DB)(nil)

// Open opens (and creates) the SQLite database at path.
func Open(path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("regstore: %w", err)
	}
	// WAL and a busy timeout: the registrar writes from many goroutines.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)"
	db, err := gorm.Open(sqlite.Open(dsn), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, fmt.Errorf("regstore: open %s: %w", path, err)
	}
	if err := db.AutoMigrate(&row{}); err != nil {
		return nil, fmt.Errorf("regstore: migrate: %w", err)
	}
	return &DB{db: db}, nil
}

// Get returns the registration of impu, or ErrNotFound.
func (s *DB) Get(ctx context.Context, impu string) (*Registration, error) {
	var r row
	err := s.db.WithContext(ctx).Where("impu = ?", impu).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("regstore: get %s: %w", impu, err)
	}
	return decode(r)
}

// Put inserts or replaces the registration.
func (s *DB) Put(ctx context.Context, reg *Registration) error {
	r, err := encode(reg, time.Now().UTC())
	if err != nil {
		return err
	}
	if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{UpdateAll: true}).Create(&r).Error; err != nil {
		return fmt.Errorf("regstore: put %s: %w", reg.IMPU, err)
	}
	return nil
}

// applyBatch is how many rows one INSERT of Apply carries (SQLite allows 32766 bound
// variables; a row has 4).
const applyBatch = 500

// Apply inserts or replaces puts and removes deletes in one transaction, so a batch of changes
// costs one commit.
func (s *DB) Apply(ctx context.Context, puts []*Registration, deletes []string) error {
	now, nDel := time.Now().UTC(), len(deletes)
	rows := make([]row, 0, len(puts))
	for _, reg := range puts {
		r, err := encode(reg, now)
		if err != nil {
			return err
		}
		rows = append(rows, r)
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if len(rows) > 0 {
			if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).CreateInBatches(&rows, applyBatch).Error; err != nil {
				return err
			}
		}
		for len(deletes) > 0 {
			n := min(len(deletes), applyBatch)
			if err := tx.Where("impu IN ?", deletes[:n]).Delete(&row{}).Error; err != nil {
				return err
			}
			deletes = deletes[n:]
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("regstore: apply %d puts, %d deletes: %w", len(puts), nDel, err)
	}
	return nil
}

// Delete removes the registration of impu; a missing one is not an error.
func (s *DB) Delete(ctx context.Context, impu string) error {
	if err := s.db.WithContext(ctx).Where("impu = ?", impu).Delete(&row{}).Error; err != nil {
		return fmt.Errorf("regstore: delete %s: %w", impu, err)
	}
	return nil
}

// All returns every registration, for the registrar's start.
func (s *DB) All(ctx context.Context) ([]*Registration, error) {
	var rows []row
	if err := s.db.WithContext(ctx).Order("impu").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("regstore: list: %w", err)
	}
	out := make([]*Registration, 0, len(rows))
	for _, r := range rows {
		reg, err := decode(r)
		if err != nil {
			return nil, err
		}
		out = append(out, reg)
	}
	return out, nil
}

// Close closes the database.
func (s *DB) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

func encode(reg *Registration, now time.Time) (row, error) {
	data, err := json.Marshal(reg)
	if err != nil {
		return row{}, fmt.Errorf("regstore: encode %s: %w", reg.IMPU, err)
	}
	return row{IMPU: reg.IMPU, IMPI: reg.IMPI, Data: data, UpdatedAt: now}, nil
}

func decode(r row) (*Registration, error) {
	var reg Registration
	if err := json.Unmarshal(r.Data, &reg); err != nil {
		return nil, fmt.Errorf("regstore: decode %s: %w", r.IMPU, err)
	}
	return &reg, nil
}
