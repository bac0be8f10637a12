package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/imscore/imscore/pkg/sip/header"
)

// DigestConfig configures the MD5 digest server.
type DigestConfig struct {
	Realm         string        `yaml:"realm"`
	NonceLifetime time.Duration `yaml:"nonce_lifetime"`
	// ReplayCheck refuses a nonce-count that is not above the last one seen for a nonce
	// (RFC 2617 3.2.2); it costs one map entry per live nonce.
	ReplayCheck bool `yaml:"replay_check"`
}

// Defaults fills what is unset: the home domain as realm and nonces valid for 5 minutes.
func (c *DigestConfig) Defaults() {
	if c.Realm == "" {
		c.Realm = "ims.mnc001.mcc001.3gppnetwork.org"
	}
	if c.NonceLifetime == 0 {
		c.NonceLifetime = 5 * time.Minute
	}
}

// Validate reports every problem at once.
func (c DigestConfig) Validate() error {
	var errs []error
	if c.Realm == "" {
		errs = append(errs, errors.New("realm: must not be empty"))
	}
	if c.NonceLifetime <= 0 {
		errs = append(errs, fmt.Errorf("nonce_lifetime: %v must be positive", c.NonceLifetime))
	}
	return errors.Join(errs...)
}

// Digest issues and verifies MD5 digest challenges (RFC 2617, qop=auth). Nonces carry their
// issue time and an HMAC under a key drawn at start, so any nonce this server issued verifies
// without state; only the optional replay check keeps nonce-counts.
type Digest struct {
	cfg DigestConfig
	key []byte
	now func() time.Time

	mu        sync.Mutex
	counts    map[string]nonceCount // nonce -> last nc, with ReplayCheck
	lastPrune time.Time
}

type nonceCount struct {
	nc      uint32
	expires time.Time
}

// nonce layout: issue time (unix ns, 8 bytes) ‖ random (16) ‖ HMAC-SHA256 truncated (16).
const (
	nonceTimeLen = 8
	nonceRandLen = 16
	nonceMACLen  = 16
	nonceLen     = nonceTimeLen + nonceRandLen + nonceMACLen
)

// NewDigest validates cfg and draws the nonce key.
func NewDigest(cfg DigestConfig) (*Digest, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("digest config: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("digest key: %w", err)
	}
	return &Digest{cfg: cfg, key: key, now: time.Now, counts: map[string]nonceCount{}}, nil
}

// Challenge returns a fresh challenge; stale=true tells the client its credentials were right
// and only the nonce was old, so it retries without asking the user (RFC 2617 3.2.1).
func (d *Digest) Challenge(stale bool) (header.Challenge, error) {
	b := make([]byte, nonceLen)
	binary.BigEndian.PutUint64(b, uint64(d.now().UnixNano()))
	if _, err := rand.Read(b[nonceTimeLen : nonceTimeLen+nonceRandLen]); err != nil {
		return header.Challenge{}, fmt.Errorf("nonce: %w", err)
	}
	copy(b[nonceTimeLen+nonceRandLen:], d.mac("nonce", b[:nonceTimeLen+nonceRandLen]))
	nonce := base64.StdEncoding.EncodeToString(b)
	return header.Challenge{
		Scheme:    header.SchemeDigest,
		Realm:     d.cfg.Realm,
		Nonce:     nonce,
		Opaque:    d.opaque(nonce),
		Stale:     stale,
		Algorithm: header.AlgorithmMD5,
		QOP:       []string{header.QOPAuth},
	}, nil
}

// VerifyPassword verifies credentials against a plain password.
func (d *Digest) VerifyPassword(c header.Credentials, method string, body []byte, password string) error {
	return d.Verify(c, method, body, HA1(c.Username, d.cfg.Realm, password))
}

// Verify verifies credentials against HA1 in hex, as the HSS returns it in SIP-Digest-
// Authenticate. The response is checked before the nonce, so ErrStale means the client knew
// the password and only needs a new nonce (RFC 2617 3.2.1, stale).
func (d *Digest) Verify(c header.Credentials, method string, body []byte, ha1 string) error {
	if err := checkCredentials(c, "", header.AlgorithmMD5); err != nil {
		return err
	}
	if c.Realm != d.cfg.Realm {
		return fmt.Errorf("%w: realm %q", ErrWrongResponse, c.Realm)
	}
	if err := checkResponse(ha1, c, method, body); err != nil {
		return err
	}
	issued, ok := d.nonceTime(c.Nonce)
	if !ok {
		return ErrStale
	}
	now := d.now()
	expires := issued.Add(d.cfg.NonceLifetime)
	if now.After(expires) {
		return ErrStale
	}
	if c.Opaque != "" && !hmac.Equal([]byte(c.Opaque), []byte(d.opaque(c.Nonce))) {
		return fmt.Errorf("%w: opaque", ErrWrongResponse)
	}
	if d.cfg.ReplayCheck {
		return d.checkCount(c.Nonce, c.NC, now, expires)
	}
	return nil
}

// nonceTime returns the issue time of a nonce this server made.
func (d *Digest) nonceTime(nonce string) (time.Time, bool) {
	b, err := base64.StdEncoding.DecodeString(nonce)
	if err != nil || len(b) != nonceLen {
		return time.Time{}, false
	}
	signed := b[:nonceTimeLen+nonceRandLen]
	if !hmac.Equal(b[len(signed):], d.mac("nonce", signed)) {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b))), true
}

// checkCount enforces a rising nonce-count per nonce. Without qop there is no nc, so the nonce
// is good for one request (counted as nc 1).
func (d *Digest) checkCount(nonce string, nc uint32, now, expires time.Time) error {
	if nc == 0 {
		nc = 1
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if now.Sub(d.lastPrune) > d.cfg.NonceLifetime {
		for n, e := range d.counts {
			if now.After(e.expires) {
				delete(d.counts, n)
			}
		}
		d.lastPrune = now
	}
	if last, ok := d.counts[nonce]; ok && nc <= last.nc {
		return ErrReplay
	}
	d.counts[nonce] = nonceCount{nc: nc, expires: expires}
	return nil
}

func (d *Digest) opaque(nonce string) string {
	return hex.EncodeToString(d.mac("opaque", []byte(nonce))[:8])
}

func (d *Digest) mac(label string, data []byte) []byte {
	m := hmac.New(sha256.New, d.key)
	m.Write([]byte(label))
	m.Write(data)
	return m.Sum(nil)[:nonceMACLen]
}
