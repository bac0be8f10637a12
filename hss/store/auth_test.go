package store

import "testing"

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
