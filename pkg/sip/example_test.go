package sip_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	imssip "github.com/imscore/imscore/pkg/sip"
)

// A node builds its chain once, in order: each link answers or calls next, and the last
// handler forwards what nobody answered.
func Example() {
	icscf, _ := imssip.ParseURI("sip:127.0.0.1:4060")
	// register answers REGISTER (here: relays it to the I-CSCF) and passes the rest on.
	register := func(next imssip.Handler) imssip.Handler {
		return func(r *imssip.Request) {
			if r.Method != gosip.REGISTER {
				next(r)
				return
			}
			r.Forward(imssip.Forward{NextHops: []gosip.Uri{icscf}, Response: func(res *gosip.Response) {
				r.Log.Info("REGISTER answered", "status", res.StatusCode)
			}})
		}
	}
	// refuseMessage answers MESSAGE itself.
	refuseMessage := func(next imssip.Handler) imssip.Handler {
		return func(r *imssip.Request) {
			if r.Method == gosip.MESSAGE {
				r.Reply(gosip.StatusForbidden, "Forbidden")
				return
			}
			next(r)
		}
	}
	chain := imssip.Chain(imssip.ForwardHandler(imssip.Forward{RecordRoute: true}), register, refuseMessage)

	p, err := imssip.New(imssip.Config{Listen: "127.0.0.1:0"}, chain, slog.Default())
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	go p.Run(ctx)
	<-p.Ready()
	fmt.Println("serving on", p.URI("").Host)
	// Output: serving on 127.0.0.1
}
