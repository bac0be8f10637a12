package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"

	"github.com/imscore/imscore/hss/store"
	"github.com/imscore/imscore/pkg/aka"
	"github.com/imscore/imscore/pkg/config"
	"github.com/imscore/imscore/pkg/logging"
)

// demoSubscriber is one of the subscribers imslab offers so that SIPp or a phone can register at
// once (CONTRACT.md).
type demoSubscriber struct {
	IMSI   string
	MSISDN string
	// K, OP and AMF are the Milenage credentials (TS 35.206), 32, 32 and 4 hex digits. K and OP
	// hold no 0x00 byte (SIPp ends a key there, it handles keys as C strings) and no 0x5b byte
	// ('[', which SIPp reads as the start of a keyword once the hex is decoded).
	K, OP, AMF string
}

// demoAPNs and demoIFCSet name the APN profiles and iFC set the HSS's first migration creates.
var demoAPNs = []string{"internet", "ims"}

const demoIFCSet = "default"

// The first subscriber has the keys of the SIPp scenarios in test/sipp, so that those run
// against imslab with aka_AMF=0x8000. AMF 8000: the separation bit E-UTRAN needs (TS 33.102
// Annex H).
var demoSubscribers = []demoSubscriber{
	{IMSI: "001010000000001", MSISDN: "15550001",
		K: "8baf473f2f8fd09487cccbd7097c6862", OP: "e734f8734007d6c5ce7a0508809e7e9c", AMF: "8000"},
	{IMSI: "001010000000002", MSISDN: "15550002",
		K: "3c6a9f1e7d2b48c5a1e0f9d37b6c2e84", OP: "78a9f6aaeda13baf07974d4075fe0589", AMF: "8000"},
}

// IMPI is the private identity derived from the IMSI (TS 23.003 13.3).
func (s demoSubscriber) IMPI() string { return s.IMSI + "@" + config.HomeDomain }

// IMPUs are the public identities: the SIP URI derived from the IMSI (TS 23.003 13.4B, the
// temporary public identity) and the tel URI of the MSISDN, one implicit registration set.
func (s demoSubscriber) IMPUs() []string {
	return []string{"sip:" + s.IMSI + "@" + config.HomeDomain, "tel:+" + s.MSISDN}
}

// OPc is OP encrypted with K (TS 35.206 4.1), what a USIM programming tool usually asks for.
func (s demoSubscriber) OPc() (string, error) {
	c, err := aka.ParseCredentials(s.K, s.OP, "", s.AMF)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(c.OPc[:]), nil
}

// subscriber is s as the HSS store keeps it: Milenage with OP, SQN 0, both APNs, the default
// iFC set.
func (s demoSubscriber) subscriber() (*store.Subscriber, error) {
	sub := &store.Subscriber{IMSI: s.IMSI, MSISDN: s.MSISDN, Enabled: true, APNs: demoAPNs,
		Auth: store.Auth{Algorithm: store.AlgorithmMilenage},
		IMS:  &store.IMS{IMPI: s.IMPI(), IFCSet: demoIFCSet}}
	for _, f := range []struct {
		name, hex string
		dst       *[]byte
	}{{"k", s.K, &sub.Auth.K}, {"op", s.OP, &sub.Auth.OP}, {"amf", s.AMF, &sub.Auth.AMF}} {
		b, err := hex.DecodeString(f.hex)
		if err != nil {
			return nil, fmt.Errorf("demo subscriber %s: %s: %w", s.IMSI, f.name, err)
		}
		*f.dst = b
	}
	for _, u := range s.IMPUs() {
		sub.IMS.IMPUs = append(sub.IMS.IMPUs, store.IMPU{URI: u})
	}
	return sub, nil
}

// subscriberStore is what provisioning needs of the HSS store.
type subscriberStore interface {
	Subscriber(ctx context.Context, imsi string) (*store.Subscriber, error)
	CreateSubscribers(ctx context.Context, subs ...*store.Subscriber) error
}

// provision creates the demo subscribers the store does not hold yet. One that exists is left
// as it is, whatever the operator changed in it, so that a restart keeps the data; one that
// clashes with the operator's data (its MSISDN or IMPI given to another subscriber) is skipped
// with a warning rather than stopping the lab.
func provision(ctx context.Context, st subscriberStore, subs []demoSubscriber, log *slog.Logger) error {
	for _, d := range subs {
		_, err := st.Subscriber(ctx, d.IMSI)
		switch {
		case err == nil:
			log.Debug("demo subscriber already provisioned", "imsi", d.IMSI)
			continue
		case !errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("demo subscriber %s: %w", d.IMSI, err)
		}
		sub, err := d.subscriber()
		if err != nil {
			return err
		}
		switch err := st.CreateSubscribers(ctx, sub); {
		case errors.Is(err, store.ErrConflict):
			log.Warn("demo subscriber not provisioned", "imsi", d.IMSI, logging.KeyErr, err)
		case err != nil:
			return fmt.Errorf("demo subscriber %s: %w", d.IMSI, err)
		default:
			log.Info("demo subscriber provisioned", "imsi", d.IMSI, logging.KeyIMPI, d.IMPI())
		}
	}
	return nil
}
