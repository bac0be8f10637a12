package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"
)

// DB is the gorm implementation of Store.
type DB struct {
	// db writes. On SQLite it is one connection: SQLite has one writer at a time, and queueing
	// writers in the pool costs less than each of them spinning on the busy timeout.
	db *gorm.DB
	// rdb reads. On SQLite it is a pool of read-only connections that WAL lets run beside the
	// writer; on PostgreSQL and MySQL it is db.
	rdb     *gorm.DB
	dialect string
	// auth holds the prepared queries of the authentication path and cache what the
	// Diameter hot paths read (auth.go); cache is nil but on SQLite.
	auth  authStmts
	cache *readCache
	// stopWarm cancels the warm-up of the cache that Open starts on SQLite (warm.go); Close
	// calls it and waits for warming before it closes the pools.
	stopWarm context.CancelFunc
	warming  sync.WaitGroup
}

// Connection pools. Idle connections are kept up to the maximum: a new SQLite connection parses
// the whole schema, a new PostgreSQL one forks a backend, either costing more than a query.
const (
	// maxConns bounds the PostgreSQL and MySQL pool.
	maxConns = 16
	// minSQLiteReaders is the smallest SQLite read pool; it grows with GOMAXPROCS.
	minSQLiteReaders = 4
	// preparedStmts bounds each pool's cache of prepared statements (queries with IN lists
	// differ by their length).
	preparedStmts = 256
)

var _ Store = (*DB)(nil)

// Open connects to the database of cfg and brings its schema up to SchemaVersion.
func Open(cfg Config) (*DB, error) {
	return open(cfg, SchemaVersion)
}

func open(cfg Config, target int) (*DB, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("store config: %w", err)
	}
	var dialector, readDialector gorm.Dialector
	switch cfg.Driver {
	case DriverSQLite:
		if err := os.MkdirAll(filepath.Dir(cfg.DSN), 0o750); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		dialector = sqlite.Open(sqliteDSN(cfg.DSN))
		readDialector = sqlite.Open(sqliteReadDSN(cfg.DSN))
	case DriverPostgres:
		dialector = postgres.Open(cfg.DSN)
	case DriverMySQL:
		dialector = mysql.Open(mysqlDSN(cfg.DSN))
	}
	writers := maxConns
	if cfg.Driver == DriverSQLite {
		writers = 1
	}
	db, err := openPool(dialector, cfg.Driver, writers)
	if err != nil {
		return nil, err
	}
	s := &DB{db: db, rdb: db, dialect: cfg.Driver}
	if err := migrate(db, cfg.Driver, target); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	v, err := schemaVersion(db)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("store: schema version: %w", err)
	}
	if v > SchemaVersion {
		s.Close()
		return nil, fmt.Errorf("store: database schema %d is newer than this HSS's %d", v, SchemaVersion)
	}
	// The statements are prepared once the schema is migrated (a cached PostgreSQL plan does
	// not survive a change of the table it reads).
	s.db = db.Session(&gorm.Session{PrepareStmt: true})
	s.rdb = s.db
	if readDialector != nil {
		readers := max(minSQLiteReaders, 2*runtime.GOMAXPROCS(0))
		if s.rdb, err = openPool(readDialector, cfg.Driver, readers); err != nil {
			s.Close()
			return nil, err
		}
		s.rdb = s.rdb.Session(&gorm.Session{PrepareStmt: true})
	}
	if s.auth, err = prepareAuth(s.rdb, s.db, cfg.Driver); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	if cfg.Driver == DriverSQLite {
		s.cache = newReadCache()
		// In the background: opening is not delayed, and requests meanwhile read as without it.
		ctx, cancel := context.WithCancel(context.Background())
		s.stopWarm = cancel
		s.warming.Go(func() { _ = s.warmUp(ctx) }) // a failed warm-up leaves the cache to fill on demand
	}
	return s, nil
}

// openPool opens a gorm pool of at most conns connections, all kept idle.
func openPool(d gorm.Dialector, driver string, conns int) (*gorm.DB, error) {
	db, err := gorm.Open(d, &gorm.Config{
		Logger:             logger.Discard,
		TranslateError:     true,
		NowFunc:            func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
		PrepareStmtMaxSize: preparedStmts,
	})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", driver, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", driver, err)
	}
	sqlDB.SetMaxOpenConns(conns)
	sqlDB.SetMaxIdleConns(conns)
	return db, nil
}

// sqliteDSN adds the settings the HSS needs to a database file path: WAL so readers never wait
// for the writer, a busy timeout instead of SQLITE_BUSY errors, foreign keys (off by default in
// SQLite), full fsync so that a handed-out SQN survives a power cut, and BEGIN IMMEDIATE so that
// writing transactions queue for the write lock at their start instead of failing to upgrade
// a read lock (read-only transactions stay deferred).
func sqliteDSN(path string) string {
	return path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(FULL)&_txlock=immediate"
}

// sqliteReadDSN is the DSN of the read pool: query_only, so that a write on it fails rather than
// bypassing the writer; the database is already in WAL mode (the setting is kept in the file).
func sqliteReadDSN(path string) string {
	return path + "?_pragma=busy_timeout(10000)&_pragma=query_only(1)"
}

// mysqlDSN adds parseTime (timestamps scan into time.Time) and clientFoundRows (an UPDATE that
// changes nothing still reports its matched row, which the not-found checks rely on).
func mysqlDSN(dsn string) string {
	for _, param := range []string{"parseTime=true", "clientFoundRows=true"} {
		if strings.Contains(dsn, strings.SplitN(param, "=", 2)[0]+"=") {
			continue
		}
		if strings.Contains(dsn, "?") {
			dsn += "&" + param
		} else {
			dsn += "?" + param
		}
	}
	return dsn
}

// Close closes the database.
func (s *DB) Close() error {
	if s.stopWarm != nil {
		s.stopWarm()
	}
	s.warming.Wait()
	var errs []error
	s.auth.close()
	pools := []*gorm.DB{s.db}
	if s.rdb != s.db {
		pools = append(pools, s.rdb)
	}
	for _, p := range pools {
		if p == nil {
			continue
		}
		sqlDB, err := p.DB()
		if err == nil {
			err = sqlDB.Close()
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (s *DB) write(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.db.WithContext(ctx).Transaction(fn)
}

// read runs fn in a read-only transaction: one consistent snapshot, and on SQLite no write lock.
func (s *DB) read(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.rdb.WithContext(ctx).Transaction(fn, &sql.TxOptions{ReadOnly: true})
}

// notFound maps gorm's missing record to ErrNotFound with what was looked for.
func notFound(err error, what string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return err
}

// conflict maps a unique-key violation that slipped past the checks (a concurrent insert) to
// ErrConflict and a foreign-key violation (a profile deleted concurrently) to ErrInvalid.
func conflict(err error) error {
	switch {
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return fmt.Errorf("%w: unknown reference: %w", ErrInvalid, err)
	}
	return err
}

func exists(tx *gorm.DB, model any, query string, args ...any) (bool, error) {
	var n int64
	err := tx.Model(model).Where(query, args...).Count(&n).Error
	return n > 0, err
}

func forUpdate(tx *gorm.DB) *gorm.DB {
	return tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
}

// CreateSubscribers implements Store.
func (s *DB) CreateSubscribers(ctx context.Context, subs ...*Subscriber) error {
	for i, sub := range subs {
		if err := sub.Validate(false); err != nil {
			return &BatchError{Index: i, Err: err}
		}
	}
	err := s.write(ctx, func(tx *gorm.DB) error {
		for i, sub := range subs {
			if err := insertSubscriber(tx, sub); err != nil {
				return &BatchError{Index: i, Err: err}
			}
		}
		return nil
	})
	if err != nil || s.cache == nil {
		return err
	}
	// Imported subscribers register next (POST /api/v1/subscribers/import): their first Cx
	// requests find them cached. The import is committed whatever the warm-up does.
	var impis []string
	for _, sub := range subs {
		if sub.IMS != nil {
			impis = append(impis, sub.IMS.IMPI)
		}
	}
	_ = s.warmIMPIs(ctx, impis)
	return nil
}

func insertSubscriber(tx *gorm.DB, sub *Subscriber) error {
	if found, err := exists(tx, &subscriberRow{}, "imsi = ?", sub.IMSI); err != nil || found {
		return existsErr(err, "imsi", "IMSI "+sub.IMSI)
	}
	if err := checkMSISDN(tx, sub); err != nil {
		return err
	}
	if err := checkAPNs(tx, sub.APNs); err != nil {
		return err
	}
	now := tx.NowFunc()
	row := subscriberRow{IMSI: sub.IMSI, MSISDN: nullable(sub.MSISDN), Enabled: sub.Enabled,
		AMBRUL: int64(sub.AMBRUL), AMBRDL: int64(sub.AMBRDL), CreatedAt: now, UpdatedAt: now}
	if err := tx.Create(&row).Error; err != nil {
		return conflict(err)
	}
	a := sub.Auth
	auth := authRow{IMSI: sub.IMSI, K: hexOf(a.K), OP: hexOf(a.OP), OPc: hexOf(a.OPc), AMF: hexOf(a.AMF),
		SQN: int64(a.SQN), Algorithm: string(a.Algorithm), Password: a.Password}
	if err := tx.Create(&auth).Error; err != nil {
		return conflict(err)
	}
	if err := insertAPNs(tx, sub.IMSI, sub.APNs); err != nil {
		return err
	}
	if sub.IMS != nil {
		return insertIMS(tx, sub.IMSI, sub.IMS, nil, "")
	}
	return nil
}

// existsErr turns the result of an existence check into the conflict on field.
func existsErr(err error, field, what string) error {
	if err != nil {
		return err
	}
	return &FieldError{Field: field, Msg: what + " already exists", Err: ErrConflict}
}

func checkMSISDN(tx *gorm.DB, sub *Subscriber) error {
	if sub.MSISDN == "" {
		return nil
	}
	found, err := exists(tx, &subscriberRow{}, "msisdn = ? AND imsi <> ?", sub.MSISDN, sub.IMSI)
	if err != nil || found {
		return existsErr(err, "msisdn", "MSISDN "+sub.MSISDN)
	}
	return nil
}

func checkAPNs(tx *gorm.DB, apns []string) error {
	for i, name := range apns {
		if err := checkRef(tx, &apnRow{}, name, fmt.Sprintf("apns[%d]", i), "APN profile"); err != nil {
			return err
		}
	}
	return nil
}

// checkRef reports a name (field) that names no profile of model; the empty name is none.
func checkRef(tx *gorm.DB, model any, name, field, what string) error {
	if name == "" {
		return nil
	}
	found, err := exists(tx, model, "name = ?", name)
	if err != nil || found {
		return err
	}
	return invalid(field, "unknown %s %q", what, name)
}

func insertAPNs(tx *gorm.DB, imsi string, apns []string) error {
	for i, name := range apns {
		if err := tx.Create(&subscriberAPNRow{IMSI: imsi, APN: name, Ord: i}).Error; err != nil {
			return conflict(err)
		}
	}
	return nil
}

// insertIMS writes an IMS subscription. old holds the identities the subscription had before an
// update (their registration state and S-CSCF are kept) and scscf the private identity's S-CSCF.
func insertIMS(tx *gorm.DB, imsi string, in *IMS, old map[string]impuRow, scscf string) error {
	ims := *in
	ims.IMPUs = append([]IMPU(nil), in.IMPUs...)
	ims.normalize()
	if found, err := exists(tx, &imsRow{}, "impi = ?", ims.IMPI); err != nil || found {
		return existsErr(err, "ims.impi", "IMPI "+ims.IMPI)
	}
	for i, u := range ims.IMPUs {
		if found, err := exists(tx, &impuRow{}, "uri = ?", u.URI); err != nil || found {
			return existsErr(err, fmt.Sprintf("ims.impus[%d]", i), "IMPU "+u.URI)
		}
	}
	if err := checkRef(tx, &ifcSetRow{}, ims.IFCSet, "ims.ifc_set", "iFC set"); err != nil {
		return err
	}
	if err := checkRef(tx, &capabilitySetRow{}, ims.CapabilitySet, "ims.capability_set", "S-CSCF capability set"); err != nil {
		return err
	}
	row := imsRow{IMPI: ims.IMPI, IMSI: imsi, IFCSet: nullable(ims.IFCSet), CapabilitySet: nullable(ims.CapabilitySet),
		CCFPrimary: ims.Charging.CCFPrimary, CCFSecondary: ims.Charging.CCFSecondary,
		ECFPrimary: ims.Charging.ECFPrimary, ECFSecondary: ims.Charging.ECFSecondary, SCSCFName: scscf}
	if err := tx.Create(&row).Error; err != nil {
		return conflict(err)
	}
	for i, u := range ims.IMPUs {
		r := impuRow{URI: u.URI, IMPI: ims.IMPI, Ord: i, Barred: u.Barred, IRS: u.IRS, Default: u.Default,
			State: string(u.State), SCSCFName: u.SCSCFName}
		if prev, ok := old[u.URI]; ok {
			r.State, r.SCSCFName = prev.State, prev.SCSCFName
		}
		if err := tx.Create(&r).Error; err != nil {
			return conflict(err)
		}
	}
	return nil
}

// UpdateSubscriber implements Store.
func (s *DB) UpdateSubscriber(ctx context.Context, sub *Subscriber, setSQN bool) error {
	if err := sub.Validate(true); err != nil {
		return err
	}
	defer s.cache.forgetIMSI(sub.IMSI)
	return s.write(ctx, func(tx *gorm.DB) error {
		var row subscriberRow
		if err := forUpdate(tx).Take(&row, "imsi = ?", sub.IMSI).Error; err != nil {
			return notFound(err, "subscriber "+sub.IMSI)
		}
		if err := checkMSISDN(tx, sub); err != nil {
			return err
		}
		if err := checkAPNs(tx, sub.APNs); err != nil {
			return err
		}
		if err := updateAuth(tx, sub, setSQN); err != nil {
			return err
		}
		err := tx.Model(&subscriberRow{}).Where("imsi = ?", sub.IMSI).Updates(map[string]any{
			"msisdn": nullable(sub.MSISDN), "enabled": sub.Enabled, "ambr_ul": int64(sub.AMBRUL),
			"ambr_dl": int64(sub.AMBRDL), "updated_at": tx.NowFunc(),
		}).Error
		if err != nil {
			return conflict(err)
		}
		if err := tx.Where("imsi = ?", sub.IMSI).Delete(&subscriberAPNRow{}).Error; err != nil {
			return err
		}
		if err := insertAPNs(tx, sub.IMSI, sub.APNs); err != nil {
			return err
		}
		return replaceIMS(tx, sub)
	})
}

// updateAuth merges the new authentication data with the stored secrets and checks the result
// as if it were created.
func updateAuth(tx *gorm.DB, sub *Subscriber, setSQN bool) error {
	var row authRow
	if err := forUpdate(tx).Take(&row, "imsi = ?", sub.IMSI).Error; err != nil {
		return notFound(err, "authentication data of "+sub.IMSI)
	}
	merged, stored := sub.Auth, row.auth()
	if merged.K == nil {
		merged.K = stored.K
	}
	if merged.OP == nil && merged.OPc == nil {
		merged.OP, merged.OPc = stored.OP, stored.OPc
	}
	if merged.Password == "" {
		merged.Password = stored.Password
	}
	if !setSQN {
		merged.SQN = stored.SQN
	}
	if err := merged.validate(false); err != nil {
		return err
	}
	return tx.Model(&authRow{}).Where("imsi = ?", sub.IMSI).Updates(map[string]any{
		"k": hexOf(merged.K), "op": hexOf(merged.OP), "opc": hexOf(merged.OPc), "amf": hexOf(merged.AMF),
		"sqn": int64(merged.SQN), "algorithm": string(merged.Algorithm), "password": merged.Password,
	}).Error
}

// replaceIMS swaps the IMS subscription, keeping registration state and S-CSCF of the
// identities that stay.
func replaceIMS(tx *gorm.DB, sub *Subscriber) error {
	var rows []imsRow
	if err := tx.Where("imsi = ?", sub.IMSI).Find(&rows).Error; err != nil {
		return err
	}
	old := map[string]impuRow{}
	scscf := ""
	for _, r := range rows {
		var impus []impuRow
		if err := tx.Where("impi = ?", r.IMPI).Find(&impus).Error; err != nil {
			return err
		}
		if sub.IMS != nil && r.IMPI == sub.IMS.IMPI {
			scscf = r.SCSCFName
			for _, u := range impus {
				old[u.URI] = u
			}
		}
		// The identities go with their subscription (ON DELETE CASCADE).
		if err := tx.Delete(&imsRow{}, "impi = ?", r.IMPI).Error; err != nil {
			return err
		}
	}
	if sub.IMS == nil {
		return nil
	}
	return insertIMS(tx, sub.IMSI, sub.IMS, old, scscf)
}

// DeleteSubscriber implements Store.
func (s *DB) DeleteSubscriber(ctx context.Context, imsi string) error {
	defer s.cache.forgetIMSI(imsi)
	return s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Delete(&subscriberRow{}, "imsi = ?", imsi)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("subscriber %s: %w", imsi, ErrNotFound)
		}
		return nil
	})
}

// Subscriber implements Store.
func (s *DB) Subscriber(ctx context.Context, imsi string) (*Subscriber, error) {
	return s.one(ctx, func(tx *gorm.DB) (string, error) { return imsi, nil })
}

// SubscriberByIMPI implements Store.
func (s *DB) SubscriberByIMPI(ctx context.Context, impi string) (*Subscriber, error) {
	return s.one(ctx, func(tx *gorm.DB) (string, error) {
		var r imsRow
		err := tx.Take(&r, "impi = ?", impi).Error
		return r.IMSI, notFound(err, "IMPI "+impi)
	})
}

// SubscriberByIMPU implements Store.
func (s *DB) SubscriberByIMPU(ctx context.Context, impu string) (*Subscriber, error) {
	return s.one(ctx, func(tx *gorm.DB) (string, error) {
		var r imsRow
		err := tx.Table("ims_subscriptions").Joins("JOIN impus ON impus.impi = ims_subscriptions.impi").
			Where("impus.uri = ?", impu).Take(&r).Error
		return r.IMSI, notFound(err, "IMPU "+impu)
	})
}

// SubscriberByMSISDN implements Store.
func (s *DB) SubscriberByMSISDN(ctx context.Context, msisdn string) (*Subscriber, error) {
	return s.one(ctx, func(tx *gorm.DB) (string, error) {
		var r subscriberRow
		err := tx.Take(&r, "msisdn = ?", msisdn).Error
		return r.IMSI, notFound(err, "MSISDN "+msisdn)
	})
}

// one loads the subscriber whose IMSI lookup finds, in one snapshot.
func (s *DB) one(ctx context.Context, lookup func(tx *gorm.DB) (string, error)) (*Subscriber, error) {
	var out *Subscriber
	err := s.read(ctx, func(tx *gorm.DB) error {
		imsi, err := lookup(tx)
		if err != nil {
			return err
		}
		var row subscriberRow
		if err := tx.Take(&row, "imsi = ?", imsi).Error; err != nil {
			return notFound(err, "subscriber "+imsi)
		}
		subs, err := load(tx, []subscriberRow{row})
		if err != nil {
			return err
		}
		out = subs[0]
		return nil
	})
	return out, err
}

// ListSubscribers implements Store.
func (s *DB) ListSubscribers(ctx context.Context, offset, limit int) ([]*Subscriber, int64, error) {
	var out []*Subscriber
	var total int64
	err := s.read(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&subscriberRow{}).Count(&total).Error; err != nil {
			return err
		}
		var rows []subscriberRow
		if err := tx.Order("imsi").Offset(offset).Limit(limit).Find(&rows).Error; err != nil {
			return err
		}
		var err error
		out, err = load(tx, rows)
		return err
	})
	return out, total, err
}

// load completes subscriber rows with their authentication data, APNs and IMS subscription,
// with one query per table.
func load(tx *gorm.DB, rows []subscriberRow) ([]*Subscriber, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	imsis := make([]string, len(rows))
	for i, r := range rows {
		imsis[i] = r.IMSI
	}
	var auths []authRow
	var apns []subscriberAPNRow
	var imss []imsRow
	if err := tx.Where("imsi IN ?", imsis).Find(&auths).Error; err != nil {
		return nil, err
	}
	if err := tx.Where("imsi IN ?", imsis).Order("imsi, ord").Find(&apns).Error; err != nil {
		return nil, err
	}
	if err := tx.Where("imsi IN ?", imsis).Find(&imss).Error; err != nil {
		return nil, err
	}
	var impus []impuRow
	if len(imss) > 0 {
		impis := make([]string, len(imss))
		for i, r := range imss {
			impis[i] = r.IMPI
		}
		if err := tx.Where("impi IN ?", impis).Order("impi, ord").Find(&impus).Error; err != nil {
			return nil, err
		}
	}
	byIMSI := make(map[string]*Subscriber, len(rows))
	out := make([]*Subscriber, len(rows))
	for i, r := range rows {
		out[i] = &Subscriber{IMSI: r.IMSI, MSISDN: deref(r.MSISDN), Enabled: r.Enabled,
			AMBRUL: uint64(r.AMBRUL), AMBRDL: uint64(r.AMBRDL), MMEHost: r.MMEHost, MMERealm: r.MMERealm,
			CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
		byIMSI[r.IMSI] = out[i]
	}
	for i := range auths {
		byIMSI[auths[i].IMSI].Auth = auths[i].auth()
	}
	for _, a := range apns {
		sub := byIMSI[a.IMSI]
		sub.APNs = append(sub.APNs, a.APN)
	}
	byIMPI := map[string]*IMS{}
	for _, r := range imss {
		ims := r.ims()
		byIMSI[r.IMSI].IMS = ims
		byIMPI[r.IMPI] = ims
	}
	for _, u := range impus {
		ims := byIMPI[u.IMPI]
		ims.IMPUs = append(ims.IMPUs, IMPU{URI: u.URI, Barred: u.Barred, IRS: u.IRS, Default: u.Default,
			State: RegistrationState(u.State), SCSCFName: u.SCSCFName})
	}
	return out, nil
}

// ReserveSQN implements Store. On SQLite and PostgreSQL it is one UPDATE ... RETURNING
// (reserveSQN in auth.go); on MySQL the row is locked (SELECT ... FOR UPDATE) between reading
// and advancing it.
func (s *DB) ReserveSQN(ctx context.Context, imsi string, n uint64) (Auth, error) {
	if n == 0 || n > MaxSQN {
		return Auth{}, invalid("n", "must be 1..2^48-1")
	}
	if s.auth.reserveSQN != nil {
		return s.reserveSQN(ctx, imsi, n)
	}
	var out Auth
	defer s.cache.forgetIMSI(imsi)
	err := s.write(ctx, func(tx *gorm.DB) error {
		var row authRow
		if err := forUpdate(tx).Take(&row, "imsi = ?", imsi).Error; err != nil {
			return notFound(err, "authentication data of "+imsi)
		}
		cur := uint64(row.SQN)
		last := (cur + n) & MaxSQN
		if err := tx.Model(&authRow{}).Where("imsi = ?", imsi).Update("sqn", int64(last)).Error; err != nil {
			return err
		}
		out = row.auth()
		out.SQN = (cur + 1) & MaxSQN
		return nil
	})
	return out, err
}

// SetSQN implements Store.
func (s *DB) SetSQN(ctx context.Context, imsi string, sqn uint64) error {
	if sqn > MaxSQN {
		return invalid("sqn", "must be below 2^48")
	}
	defer s.cache.forgetIMSI(imsi)
	return s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&authRow{}).Where("imsi = ?", imsi).Update("sqn", int64(sqn))
		if res.Error == nil && res.RowsAffected == 0 {
			return fmt.Errorf("authentication data of %s: %w", imsi, ErrNotFound)
		}
		return res.Error
	})
}

// SetRegistration implements Store. Every SAR comes here, so it runs the prepared statements of
// authStmts rather than gorm's building of each. (On SQLite the driver still parses a statement
// at each execution: its prepared statement keeps the SQL text only.)
func (s *DB) SetRegistration(ctx context.Context, r Registration) error {
	switch r.State {
	case StateNotRegistered, StateRegistered, StateUnregistered:
	default:
		return invalid("state", "unknown registration state %q", r.State)
	}
	if err := s.setRegistration(ctx, r); err != nil {
		s.cache.forgetIMPI(r.IMPI)
		return err
	}
	// The cached entry follows, so that the UAR of the next re-registration finds it.
	s.cache.setRegistration(r)
	return nil
}

// setRegistration writes r in one transaction, begun as s.write begins its own (default options;
// on SQLite BEGIN IMMEDIATE, the DSN's _txlock): nothing changes unless the IMPI and every IMPU
// of it that r names exist. The counts are of matched rows (MySQL's with clientFoundRows), so that
// an identity named twice, or already in the state, is found.
func (s *DB) setRegistration(ctx context.Context, r Registration) error {
	tx, err := s.auth.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("registration of %s: %w", r.IMPI, err)
	}
	defer tx.Rollback() // after Commit, a no-op
	n, err := rowsAffected(tx.StmtContext(ctx, s.auth.setSCSCF).ExecContext(ctx, r.SCSCFName, r.IMPI))
	if err != nil {
		return fmt.Errorf("registration of %s: %w", r.IMPI, err)
	}
	if n == 0 {
		return fmt.Errorf("IMPI %s: %w", r.IMPI, ErrNotFound)
	}
	setIMPU := tx.StmtContext(ctx, s.auth.setIMPU)
	for _, uri := range r.IMPUs {
		n, err := rowsAffected(setIMPU.ExecContext(ctx, string(r.State), r.SCSCFName, uri, r.IMPI))
		if err != nil {
			return fmt.Errorf("registration of %s: %w", r.IMPI, err)
		}
		if n == 0 {
			return fmt.Errorf("IMPU %s of %s: %w", uri, r.IMPI, ErrNotFound)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("registration of %s: %w", r.IMPI, err)
	}
	return nil
}

func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// SetServingMME implements Store.
func (s *DB) SetServingMME(ctx context.Context, imsi, host, realm string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&subscriberRow{}).Where("imsi = ?", imsi).
			Updates(map[string]any{"mme_host": host, "mme_realm": realm})
		if res.Error == nil && res.RowsAffected == 0 {
			return fmt.Errorf("subscriber %s: %w", imsi, ErrNotFound)
		}
		return res.Error
	})
}

// SetSCSCFHost implements Store.
func (s *DB) SetSCSCFHost(ctx context.Context, serverName, originHost string) error {
	switch {
	case serverName == "":
		return invalid("server_name", "is empty")
	case originHost == "":
		return invalid("origin_host", "is empty")
	}
	return s.write(ctx, func(tx *gorm.DB) error {
		row := scscfHostRow{ServerName: serverName, OriginHost: originHost, UpdatedAt: tx.NowFunc()}
		return tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "server_name"}},
			DoUpdates: clause.AssignmentColumns([]string{"origin_host", "updated_at"})}).Create(&row).Error
	})
}

// SCSCFHost implements Store.
func (s *DB) SCSCFHost(ctx context.Context, serverName string) (string, error) {
	var row scscfHostRow
	err := s.rdb.WithContext(ctx).Take(&row, "server_name = ?", serverName).Error
	return row.OriginHost, notFound(err, "S-CSCF "+serverName)
}
