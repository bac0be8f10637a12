package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gorm.io/gorm"
)

// The Diameter hot paths: every registration reads a subscriber's authentication data (Cx MAR,
// S6a AIR at attach) and its IMS subscription (Cx UAR, SAR and LIR), so each is one prepared query through
// database/sql rather than the six gorm queries (and their reflection) that load a whole
// Subscriber, and on SQLite its answer is cached (readCache below). The SQN reservation of
// MAR and AIR is one statement too.

// AuthInfo is what an authentication request needs of a subscriber (TS 29.228 6.3, TS 29.272
// 5.2.3.1). The byte slices of Auth may be shared with the store's cache: do not modify them.
type AuthInfo struct {
	IMSI    string
	Enabled bool
	Auth    Auth
	// IMPU is the public identity AuthByIMPI was asked for, nil when the private identity has
	// no such identity (or none was asked for).
	IMPU *IMPU
}

const authColumns = `s.imsi, s.enabled, a.k, a.op, a.opc, a.amf, a.sqn, a.algorithm, a.password`

// Authorization is what Cx UAR needs of a private identity (TS 29.228 6.1.1.1): whether its
// subscriber is enabled, and its IMS subscription.
type Authorization struct {
	Enabled bool
	IMS     IMS
}

// One row per public identity of the IMPI, in order (one row with NULLs when it has none), each
// with the subscription's own columns.
const entryQuery = `SELECT ` + authColumns + `, i.impi, i.ifc_set, i.capability_set, i.ccf_primary, i.ccf_secondary,
		i.ecf_primary, i.ecf_secondary, i.scscf_name,
		u.uri, u.barred, u.irs_id, u.is_default, u.reg_state, u.scscf_name
		FROM ims_subscriptions i
		JOIN subscribers s ON s.imsi = i.imsi
		JOIN auth_data a ON a.imsi = i.imsi
		LEFT JOIN impus u ON u.impi = i.impi
		WHERE `

const (
	authByIMPIQuery = entryQuery + `i.impi = ?
		ORDER BY u.ord`
	// The IMPI of a public identity and the whole subscription in one query: impus.uri is the
	// primary key, the subquery finds at most one.
	authByIMPUQuery = entryQuery + `i.impi = (SELECT impi FROM impus WHERE uri = ?)
		ORDER BY u.ord`
	authByIMSIQuery = `SELECT ` + authColumns + `
		FROM subscribers s JOIN auth_data a ON a.imsi = s.imsi
		WHERE s.imsi = ?`
)

// reserveSQNQuery advances the SQN by n and returns the row as stored, in one statement
// (SQLite 3.35 and PostgreSQL have RETURNING, MySQL has not). The mask is MaxSQN: SQN wraps
// at 48 bits.
var reserveSQNQuery = `UPDATE auth_data SET sqn = (sqn + ?) & ` + strconv.FormatUint(MaxSQN, 10) + `
	WHERE imsi = ? RETURNING k, op, opc, amf, sqn, algorithm, password`

// The writes of every SAR (SetRegistration): the private identity's S-CSCF, then the state and
// S-CSCF of each public identity it names. One statement per public identity costs less than
// one for all of them (uri IN (...)) on SQLite: an UPDATE that may change several rows opens a
// statement journal (BenchmarkSetRegistration).
const (
	setSCSCFQuery = `UPDATE ims_subscriptions SET scscf_name = ? WHERE impi = ?`
	setIMPUQuery  = `UPDATE impus SET reg_state = ?, scscf_name = ? WHERE uri = ? AND impi = ?`
)

// authStmts are the authentication queries prepared on the read pool, and the writes of the
// hot paths prepared on the writer: the SQN reservation (nil on MySQL) and the registration.
type authStmts struct {
	byIMPI, byIMPU, byIMSI, reserveSQN *sql.Stmt
	// writer is the pool of the writes, setSCSCF and setIMPU its registration statements.
	writer            *sql.DB
	setSCSCF, setIMPU *sql.Stmt
}

func prepareAuth(read, write *gorm.DB, dialect string) (authStmts, error) {
	var st authStmts
	readDB, err := read.DB()
	if err != nil {
		return st, err
	}
	writeDB, err := write.DB()
	if err != nil {
		return st, err
	}
	prepare := func(db *sql.DB, query string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var stmt *sql.Stmt
		stmt, err = db.Prepare(rebind(dialect, query))
		return stmt
	}
	st.byIMPI = prepare(readDB, authByIMPIQuery)
	st.byIMPU = prepare(readDB, authByIMPUQuery)
	st.byIMSI = prepare(readDB, authByIMSIQuery)
	if dialect != DriverMySQL {
		st.reserveSQN = prepare(writeDB, reserveSQNQuery)
	}
	st.writer = writeDB
	st.setSCSCF = prepare(writeDB, setSCSCFQuery)
	st.setIMPU = prepare(writeDB, setIMPUQuery)
	if err != nil {
		st.close()
		return authStmts{}, fmt.Errorf("prepare the hot paths' queries: %w", err)
	}
	return st, nil
}

func (st authStmts) close() {
	for _, s := range []*sql.Stmt{st.byIMPI, st.byIMPU, st.byIMSI, st.reserveSQN, st.setSCSCF, st.setIMPU} {
		if s != nil {
			s.Close()
		}
	}
}

// reserveSQN is ReserveSQN in one statement; the cache learns the stored SQN.
func (s *DB) reserveSQN(ctx context.Context, imsi string, n uint64) (Auth, error) {
	var row authRow
	err := s.auth.reserveSQN.QueryRowContext(ctx, int64(n), imsi).
		Scan(&row.K, &row.OP, &row.OPc, &row.AMF, &row.SQN, &row.Algorithm, &row.Password)
	if err != nil {
		s.cache.forgetIMSI(imsi)
		if errors.Is(err, sql.ErrNoRows) {
			return Auth{}, fmt.Errorf("authentication data of %s: %w", imsi, ErrNotFound)
		}
		return Auth{}, fmt.Errorf("reserve SQN of %s: %w", imsi, err)
	}
	s.cache.setSQN(imsi, uint64(row.SQN))
	out := row.auth()
	out.SQN = (uint64(row.SQN) - n + 1) & MaxSQN
	return out, nil
}

// rebind numbers the placeholders for PostgreSQL ($1, $2...); SQLite and MySQL take '?'.
func rebind(dialect, query string) string {
	if dialect != DriverPostgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// authRowScan is one row of the authentication queries.
type authRowScan struct {
	info AuthInfo
	row  authRow
}

func (r *authRowScan) dest() []any {
	return []any{&r.info.IMSI, &r.info.Enabled, &r.row.K, &r.row.OP, &r.row.OPc, &r.row.AMF, &r.row.SQN,
		&r.row.Algorithm, &r.row.Password}
}

// AuthByIMPI implements Store. On SQLite the answer comes from the cache when it can.
func (s *DB) AuthByIMPI(ctx context.Context, impi, impu string) (*AuthInfo, error) {
	e, err := s.byIMPI(ctx, impi)
	if err != nil {
		return nil, err
	}
	info := e.info
	if u := e.ims.IMPU(impu); u != nil {
		own := *u // the entry is shared
		info.IMPU = &own
	}
	return &info, nil
}

// IMSByIMPI implements Store, from the same query and cache as AuthByIMPI.
func (s *DB) IMSByIMPI(ctx context.Context, impi string) (*IMS, error) {
	e, err := s.byIMPI(ctx, impi)
	if err != nil {
		return nil, err
	}
	return e.copyIMS(), nil
}

// IMSByIMPU implements Store, from the same cache as IMSByIMPI.
func (s *DB) IMSByIMPU(ctx context.Context, impu string) (*IMS, error) {
	e, gen := s.cache.getByIMPU(impu)
	if e == nil {
		var err error
		if e, err = s.queryEntry(ctx, s.auth.byIMPU, impu, "IMPU "+impu); err != nil {
			return nil, err
		}
		s.cache.put(e.ims.IMPI, e, gen)
	}
	if e.ims.IMPU(impu) == nil { // callers may rely on finding it in what is returned
		return nil, authErr(sql.ErrNoRows, "IMPU "+impu)
	}
	return e.copyIMS(), nil
}

// AuthorizationByIMPI implements Store, from the same query and cache as AuthByIMPI.
func (s *DB) AuthorizationByIMPI(ctx context.Context, impi string) (*Authorization, error) {
	e, err := s.byIMPI(ctx, impi)
	if err != nil {
		return nil, err
	}
	return &Authorization{Enabled: e.info.Enabled, IMS: *e.copyIMS()}, nil
}

// copyIMS is the entry's IMS subscription with identities of its own (the entry is shared).
func (e *authEntry) copyIMS() *IMS {
	ims := e.ims
	ims.IMPUs = slices.Clone(e.ims.IMPUs)
	return &ims
}

// byIMPI is the cached entry of impi, read and cached when there is none.
func (s *DB) byIMPI(ctx context.Context, impi string) (*authEntry, error) {
	e, gen := s.cache.get(impi)
	if e != nil {
		return e, nil
	}
	e, err := s.queryEntry(ctx, s.auth.byIMPI, impi, "IMPI "+impi)
	if err != nil {
		return nil, err
	}
	s.cache.put(impi, e, gen)
	return e, nil
}

// queryEntry reads the entry that stmt (authByIMPIQuery or authByIMPUQuery) finds for key; what
// names key in errors.
func (s *DB) queryEntry(ctx context.Context, stmt *sql.Stmt, key, what string) (*authEntry, error) {
	if s.dialect == DriverSQLite {
		// The go-sqlite driver starts a goroutine per query to watch a cancellable context;
		// this query takes microseconds and is not worth it.
		ctx = context.WithoutCancel(ctx)
	}
	rows, err := stmt.QueryContext(ctx, key)
	if err != nil {
		return nil, authErr(err, what)
	}
	defer rows.Close()
	var e *authEntry
	if err := scanEntries(rows, func(got *authEntry) { e = got }); err != nil {
		return nil, authErr(err, what)
	}
	if e == nil {
		return nil, authErr(sql.ErrNoRows, what)
	}
	return e, nil
}

// scanEntries reads the rows of an entryQuery ordered by i.impi, u.ord and yields the entry of
// each private identity once its rows are read.
func scanEntries(rows *sql.Rows, yield func(*authEntry)) error {
	var (
		e                     *authEntry
		r                     authRowScan
		ims                   imsRow
		uri, irs, state, name sql.NullString
		barred, isDefault     sql.NullBool
	)
	dest := append(r.dest(), &ims.IMPI, &ims.IFCSet, &ims.CapabilitySet, &ims.CCFPrimary, &ims.CCFSecondary,
		&ims.ECFPrimary, &ims.ECFSecondary, &ims.SCSCFName,
		&uri, &barred, &irs, &isDefault, &state, &name)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if e == nil || e.ims.IMPI != ims.IMPI {
			if e != nil {
				yield(e)
			}
			r.info.Auth = r.row.auth()
			e = &authEntry{info: r.info, ims: *ims.ims()}
		}
		if uri.Valid {
			e.ims.IMPUs = append(e.ims.IMPUs, IMPU{URI: uri.String, Barred: barred.Bool, IRS: irs.String,
				Default: isDefault.Bool, State: RegistrationState(state.String), SCSCFName: name.String})
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if e != nil {
		yield(e)
	}
	return nil
}

// AuthByIMSI implements Store.
func (s *DB) AuthByIMSI(ctx context.Context, imsi string) (*AuthInfo, error) {
	var r authRowScan
	if err := s.auth.byIMSI.QueryRowContext(ctx, imsi).Scan(r.dest()...); err != nil {
		return nil, authErr(err, "IMSI "+imsi)
	}
	r.info.Auth = r.row.auth()
	return &r.info, nil
}

func authErr(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("authentication data of %s: %w", what, err)
}

// authEntry is what AuthByIMPI and IMSByIMPI read of one private identity: its subscriber's
// authentication data and its IMS subscription with every public identity. It is never
// changed once cached (readers use it without the lock): a change replaces it.
type authEntry struct {
	info AuthInfo
	ims  IMS
}

// maxCachedIMPIs bounds the cache: past it, an entry is dropped for each one added.
const maxCachedIMPIs = 100_000

// readCache keeps what the Diameter hot paths read, so that a MAR or a re-registration SAR
// costs no query: the entries of AuthByIMPI/IMSByIMPI and the iFC sets. It is used on SQLite
// only: the database file belongs to this process, so every write goes through this DB and
// forgets what it changes. PostgreSQL and MySQL may be shared by several HSS processes, and a
// cache there would serve what another one changed; they have none (nil).
//
// Each write forgets after it commits, and gen counts those, so that a read which started
// before a write and ends after it does not put back what it read: put refuses an entry read
// before the latest forget of its IMPI or IMSI (of its iFC set name for putIFCSet). Writes of
// other subscribers do not matter: with registrations coming in, some write commits during
// almost every read, and a cache refusing all of them would stay empty (issue 5: every UAR of
// the registration benchmark queried SQLite).
//
// Besides the reads that miss, warm-ups fill it in bulk (warm.go): when the store opens and
// after CreateSubscribers. Each tags what it read with the generation taken before its query,
// as a read does.
type readCache struct {
	mu  sync.Mutex
	gen uint64
	// wrote is the gen of the last write of each key (keyIMSI, keyIMPI, keyIFCSet); floor
	// refuses every read tagged before it, the time wrote was last cleared to bound it.
	wrote  map[string]uint64
	floor  uint64
	byIMPI map[string]*authEntry
	impiOf map[string]string // IMSI -> IMPI of the cached entries
	// ownerOf maps each IMPU of the cached entries to its IMPI; it is dropped with the entry.
	ownerOf map[string]string
	ifcSets map[string]*IFCSet
	limit   int // of byIMPI: maxCachedIMPIs (tests lower it)
}

func newReadCache() *readCache {
	return &readCache{wrote: map[string]uint64{}, byIMPI: map[string]*authEntry{}, impiOf: map[string]string{},
		ownerOf: map[string]string{}, ifcSets: map[string]*IFCSet{}, limit: maxCachedIMPIs}
}

// maxWrites bounds readCache.wrote: a read takes milliseconds, so only the latest writes matter.
const maxWrites = 10_000

// The keys of readCache.wrote.
func keyIMSI(imsi string) string   { return "imsi\x00" + imsi }
func keyIMPI(impi string) string   { return "impi\x00" + impi }
func keyIFCSet(name string) string { return "ifc\x00" + name }

// write records a write of key; c.mu is held.
func (c *readCache) write(key string) {
	c.gen++
	if len(c.wrote) >= maxWrites {
		clear(c.wrote)
		c.floor = c.gen
	}
	c.wrote[key] = c.gen
}

// stale reports whether a read tagged gen may have missed a write of one of keys; c.mu is held.
func (c *readCache) stale(gen uint64, keys ...string) bool {
	if gen < c.floor {
		return true
	}
	for _, k := range keys {
		if c.wrote[k] > gen {
			return true
		}
	}
	return false
}

// getByIMPU returns the entry that has the public identity impu, or nil and the generation a
// read must be tagged with.
func (c *readCache) getByIMPU(impu string) (*authEntry, uint64) {
	if c == nil {
		return nil, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byIMPI[c.ownerOf[impu]], c.gen
}

// drop removes the entry of impi and its index entries; c.mu is held.
func (c *readCache) drop(impi string) {
	e, ok := c.byIMPI[impi]
	if !ok {
		return
	}
	delete(c.byIMPI, impi)
	delete(c.impiOf, e.info.IMSI)
	for _, u := range e.ims.IMPUs {
		if c.ownerOf[u.URI] == impi {
			delete(c.ownerOf, u.URI)
		}
	}
}

// get returns the entry of impi, or nil and the generation a read must be tagged with.
func (c *readCache) get(impi string) (*authEntry, uint64) {
	if c == nil {
		return nil, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byIMPI[impi], c.gen
}

func (c *readCache) put(impi string, e *authEntry, gen uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stale(gen, keyIMPI(impi), keyIMSI(e.info.IMSI)) {
		return
	}
	c.drop(impi)
	if len(c.byIMPI) >= c.limit {
		for k := range c.byIMPI {
			c.drop(k)
			break
		}
	}
	c.add(impi, e)
}

// add caches e as the entry of impi; c.mu is held.
func (c *readCache) add(impi string, e *authEntry) {
	c.byIMPI[impi] = e
	c.impiOf[e.info.IMSI] = impi
	for _, u := range e.ims.IMPUs {
		c.ownerOf[u.URI] = impi
	}
}

// generation is the generation a read that does not start with get or getByIMPU (a warm-up)
// must be tagged with.
func (c *readCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// warm is put for an entry read by a warm-up (warm.go), under the same stale rule, but only while
// there is room: a warm-up guesses what will be read and displaces neither what was read on
// demand nor an entry already cached (as fresh: every write since it was put updated or dropped
// it). It reports whether the cache is full.
func (c *readCache) warm(e *authEntry, gen uint64) (full bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	impi := e.ims.IMPI
	if len(c.byIMPI) >= c.limit {
		return true
	}
	if _, ok := c.byIMPI[impi]; !ok && !c.stale(gen, keyIMPI(impi), keyIMSI(e.info.IMSI)) {
		c.add(impi, e)
	}
	return len(c.byIMPI) >= c.limit
}

// setSQN records sqn as the stored SQN of subscriber imsi.
func (c *readCache) setSQN(imsi string, sqn uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.write(keyIMSI(imsi))
	if impi, ok := c.impiOf[imsi]; ok {
		e := *c.byIMPI[impi]
		e.info.Auth.SQN = sqn
		c.byIMPI[impi] = &e
	}
}

// setRegistration applies a committed SetRegistration to the cached entry of r.IMPI, if any:
// its S-CSCF name, and the state and S-CSCF name of the IMPUs r names.
func (c *readCache) setRegistration(r Registration) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.write(keyIMPI(r.IMPI))
	old, ok := c.byIMPI[r.IMPI]
	if !ok {
		return
	}
	e := *old
	e.ims.SCSCFName = r.SCSCFName
	e.ims.IMPUs = slices.Clone(old.ims.IMPUs)
	for i := range e.ims.IMPUs {
		if slices.Contains(r.IMPUs, e.ims.IMPUs[i].URI) {
			e.ims.IMPUs[i].State, e.ims.IMPUs[i].SCSCFName = r.State, r.SCSCFName
		}
	}
	c.byIMPI[r.IMPI] = &e
}

// forgetIMSI drops the entry of the subscriber imsi.
func (c *readCache) forgetIMSI(imsi string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.write(keyIMSI(imsi))
	if impi, ok := c.impiOf[imsi]; ok {
		c.drop(impi)
	}
}

// forgetIMPI drops the entry of the private identity impi.
func (c *readCache) forgetIMPI(impi string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.write(keyIMPI(impi))
	c.drop(impi)
}

// ifcSet returns the cached iFC set name, or nil and the generation to tag a read with.
func (c *readCache) ifcSet(name string) (*IFCSet, uint64) {
	if c == nil {
		return nil, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ifcSets[name], c.gen
}

func (c *readCache) putIFCSet(set *IFCSet, gen uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.stale(gen, keyIFCSet(set.Name)) {
		c.ifcSets[set.Name] = set
	}
}

// forgetIFCSet drops the iFC set name.
func (c *readCache) forgetIFCSet(name string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.write(keyIFCSet(name))
	delete(c.ifcSets, name)
}
