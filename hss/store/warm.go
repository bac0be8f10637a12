package store

import (
	"context"
	"slices"
	"strings"
)

// Warming the read cache (auth.go) in bulk. Filled one private identity at a time, the cache costs
// the first Cx request (UAR, MAR, SAR) of each subscriber a query that the SQLite driver prepares
// anew each time; after an HSS restart a whole network re-registers at once, and after an import
// the imported subscribers register next. One query for a page of warmPage identities costs a
// fraction of that per subscriber (BenchmarkFirstRead). A warm-up that fails leaves the cache to
// fill on demand, as it would without one.

// warmPage is how many private identities one warm-up query reads: it bounds the sort of a page
// (impus has no index on ord) and the parameters of an IN list (999 in SQLite before 3.32). Tests
// lower it to read several pages of few subscribers.
var warmPage = 500

// warmAfterQuery reads the entries of the warmPage private identities after the one given, in order.
const warmAfterQuery = entryQuery + `i.impi IN (SELECT impi FROM ims_subscriptions WHERE impi > ? ORDER BY impi LIMIT ?)
		ORDER BY i.impi, u.ord`

// warmIMPIsQuery reads the entries of n private identities.
func warmIMPIsQuery(n int) string {
	return entryQuery + `i.impi IN (?` + strings.Repeat(`, ?`, n-1) + `)
		ORDER BY i.impi, u.ord`
}

// warmUp caches the private identities in order, a page at a time, until the cache is full or
// every one is read. Open runs it in the background on SQLite; Close cancels ctx and waits for it.
func (s *DB) warmUp(ctx context.Context) error {
	after := ""
	for {
		gen := s.cache.generation()
		entries, err := s.loadEntries(ctx, warmAfterQuery, after, warmPage)
		if err != nil {
			return err
		}
		// Every subscription has its subscriber and authentication data (inner joins): a short
		// page is the last.
		if s.warmEntries(entries, gen) || len(entries) < warmPage {
			return nil
		}
		after = entries[len(entries)-1].ims.IMPI
	}
}

// warmIMPIs caches the private identities impis (those CreateSubscribers just added on SQLite)
// until the cache is full.
func (s *DB) warmIMPIs(ctx context.Context, impis []string) error {
	for page := range slices.Chunk(impis, warmPage) {
		args := make([]any, len(page))
		for i, impi := range page {
			args[i] = impi
		}
		gen := s.cache.generation()
		entries, err := s.loadEntries(ctx, warmIMPIsQuery(len(page)), args...)
		if err != nil {
			return err
		}
		if s.warmEntries(entries, gen) {
			return nil
		}
	}
	return nil
}

// warmEntries offers entries read by a query that started at generation gen to the cache (the
// rule of put: what a write since has changed is not cached); it reports whether the cache is full.
func (s *DB) warmEntries(entries []*authEntry, gen uint64) (full bool) {
	for _, e := range entries {
		if s.cache.warm(e, gen) {
			return true
		}
	}
	return false
}

// loadEntries runs query, an entryQuery ordered by i.impi, u.ord, on the read pool.
func (s *DB) loadEntries(ctx context.Context, query string, args ...any) ([]*authEntry, error) {
	db, err := s.rdb.DB()
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*authEntry
	err = scanEntries(rows, func(e *authEntry) { out = append(out, e) })
	return out, err
}
