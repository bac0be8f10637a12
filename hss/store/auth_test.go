package store

import (
	"strconv"
	"testing"
)

// TestAuthCacheRefusesStaleRead: a read that started before a write and ends after it must not
// put back what it read, whichever write it was.
func TestAuthCacheRefusesStaleRead(t *testing.T) {
	const impi, imsi = "alice@ims.example", "001010000000001"
	entry := func(sqn uint64) *authEntry {
		return &authEntry{info: AuthInfo{IMSI: imsi, Auth: Auth{SQN: sqn}}}
	}
	for _, write := range []struct {
		name string
		fn   func(c *readCache)
	}{
		{"forgetIMSI", func(c *readCache) { c.forgetIMSI(imsi) }},
		{"forgetIMPI", func(c *readCache) { c.forgetIMPI(impi) }},
		{"setSQN", func(c *readCache) { c.setSQN(imsi, 40) }},
	} {
		t.Run(write.name, func(t *testing.T) {
			c := newReadCache()
			_, gen := c.get(impi) // the read starts
			write.fn(c)           // a write commits and tells the cache
			c.put(impi, entry(8), gen)
			if e, _ := c.get(impi); e != nil {
				t.Fatalf("stale read cached: %+v", e.info)
			}
			_, gen = c.get(impi) // a read after the write is kept
			c.put(impi, entry(40), gen)
			if e, _ := c.get(impi); e == nil || e.info.Auth.SQN != 40 {
				t.Fatalf("fresh read not cached: %+v", e)
			}
		})
	}
}

// TestAuthCacheSetSQN: the stored SQN of a cached subscriber follows ReserveSQN without
// changing the entry a reader already holds.
func TestAuthCacheSetSQN(t *testing.T) {
	c := newReadCache()
	_, gen := c.get("alice@ims.example")
	c.put("alice@ims.example", &authEntry{info: AuthInfo{IMSI: "001010000000001", Auth: Auth{SQN: 32}}}, gen)
	held, _ := c.get("alice@ims.example")
	c.setSQN("001010000000001", 64)
	now, _ := c.get("alice@ims.example")
	if now.info.Auth.SQN != 64 || held.info.Auth.SQN != 32 {
		t.Fatalf("SQN now %d (want 64), held entry %d (want 32)", now.info.Auth.SQN, held.info.Auth.SQN)
	}
}

// TestAuthCacheByIMPU: an entry is found by each of its public identities until any write
// forgets it, and a read by IMPU that started before a write does not put back what it read.
func TestAuthCacheByIMPU(t *testing.T) {
	const impi, imsi, impu = "alice@ims.example", "001010000000001", "sip:alice@ims.example"
	entry := &authEntry{info: AuthInfo{IMSI: imsi},
		ims: IMS{IMPI: impi, IMPUs: []IMPU{{URI: impu}, {URI: "tel:+15550001"}}}}
	for _, write := range []struct {
		name string
		fn   func(c *readCache)
	}{
		{"forgetIMSI", func(c *readCache) { c.forgetIMSI(imsi) }},
		{"forgetIMPI", func(c *readCache) { c.forgetIMPI(impi) }},
	} {
		t.Run(write.name, func(t *testing.T) {
			c := newReadCache()
			_, gen := c.getByIMPU(impu) // a read starts
			write.fn(c)
			c.put(impi, entry, gen)
			if e, _ := c.getByIMPU(impu); e != nil {
				t.Fatal("stale read by IMPU cached")
			}
			_, gen = c.getByIMPU(impu)
			c.put(impi, entry, gen)
			for _, u := range entry.ims.IMPUs {
				if e, _ := c.getByIMPU(u.URI); e != entry {
					t.Fatalf("%s: cached entry not found", u.URI)
				}
			}
			write.fn(c)
			if e, _ := c.getByIMPU(impu); e != nil || len(c.ownerOf) != 0 {
				t.Fatalf("forgotten entry still found by IMPU (%d identities indexed)", len(c.ownerOf))
			}
		})
	}
}

// TestAuthCacheOtherWrites: writes of other subscribers, committed while a read is under way,
// do not keep what it read out of the cache; and once the record of writes is cleared to bound
// it, a read tagged before is refused.
func TestAuthCacheOtherWrites(t *testing.T) {
	const impi, imsi = "alice@ims.example", "001010000000001"
	entry := &authEntry{info: AuthInfo{IMSI: imsi}}
	c := newReadCache()
	_, gen := c.get(impi)
	c.setSQN("001010000000002", 64)
	c.forgetIMPI("bob@ims.example")
	c.forgetIMSI("001010000000003")
	c.forgetIFCSet("default")
	c.put(impi, entry, gen)
	if e, _ := c.get(impi); e != entry {
		t.Fatal("read not cached after writes of other subscribers")
	}

	c = newReadCache()
	_, gen = c.get(impi)
	for i := range maxWrites + 1 {
		c.forgetIMPI(strconv.Itoa(i))
	}
	c.put(impi, entry, gen)
	if e, _ := c.get(impi); e != nil {
		t.Fatal("read tagged before the record of writes was cleared: cached")
	}
}

// TestAuthCacheSetRegistration: a registration change updates the cached entry in place (the
// UAR of the next re-registration finds it) without touching the entry a reader holds, and a
// read under way when it commits is not put back.
func TestAuthCacheSetRegistration(t *testing.T) {
	const impi, imsi = "alice@ims.example", "001010000000001"
	c := newReadCache()
	_, gen := c.get(impi)
	c.put(impi, &authEntry{info: AuthInfo{IMSI: imsi},
		ims: IMS{IMPI: impi, IMPUs: []IMPU{{URI: "sip:alice@ims.example"}, {URI: "tel:+15550001"}}}}, gen)
	held, gen := c.get(impi)
	c.setRegistration(Registration{IMPI: impi, IMPUs: []string{"sip:alice@ims.example"}, State: StateRegistered, SCSCFName: "sip:s"})
	now, _ := c.get(impi)
	if now == nil || now.ims.SCSCFName != "sip:s" || now.ims.IMPUs[0].State != StateRegistered ||
		now.ims.IMPUs[0].SCSCFName != "sip:s" || now.ims.IMPUs[1].State != "" {
		t.Fatalf("entry after SetRegistration: %+v", now)
	}
	if held.ims.SCSCFName != "" || held.ims.IMPUs[0].State != "" {
		t.Fatalf("entry held by a reader changed: %+v", held.ims)
	}
	c.put(impi, held, gen) // a read that started before the change
	if e, _ := c.get(impi); e != now {
		t.Fatal("stale read put back over the updated entry")
	}
}
