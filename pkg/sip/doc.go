// Package sip is the SIP proxy core every CSCF (and later the generic proxy) is built from: a
// transaction-stateful proxy on sipgo (RFC 3261 16) and the handler chain that decides what a
// node does with each request.
//
// # What the core does before the chain
//
// Retransmissions are absorbed by sipgo's server transactions before any work is done. Each new
// request then gets received/rport on its top Via (RFC 3261 18.2.1, RFC 3581 4), an INVITE is
// answered 100 Trying at once (RFC 3261 16.2), the request is validated
// (RFC 3261 16.3: a missing mandatory header gives 400 with the reason in the phrase,
// Max-Forwards 0 gives 483, a loop gives 482) and has its Route pre-processed (16.4: a Route
// naming this proxy is removed; a strict-routed Request-URI is restored). An unmatched CANCEL
// gets 481, and an ACK for a 2xx is forwarded statelessly along its Route (RFC 3261 13.2.2.4):
// neither reaches the chain.
//
// # The chain
//
// A node's behaviour is an ordered list of Middleware ending in a Handler. Each middleware
// either answers the request (Request.Reply, Request.Forward) or calls next, never both
// (STYLE.md). The order is written down in one place, the node's New:
//
//	chain := sip.Chain(sip.ForwardHandler(sip.Forward{RecordRoute: true}),
//		n.register, // REGISTER: add Path, Forward to the I-CSCF (NextHops)
//		n.regEvent, // NOTIFY of our reg-event subscriptions: Reply here
//	)
//	p, err := sip.New(sip.Config{Listen: "127.0.0.1:5060", Metrics: reg}, chain, log)
//	...
//	err = p.Run(ctx)
//
// (that is the P-CSCF's chain; see Example for a complete one). Middleware may edit the
// request before forwarding; Forward.Request edits each branch's copy and Forward.Response
// each response on its way upstream.
//
// A handler holds the server transaction for as long as it runs: Forward returns only once the
// final response was relayed (or the transaction was cancelled), and sipgo terminates the
// transaction when the handler returns. If a handler returns without a final response the core
// sends 500, so a transaction never hangs.
//
// # Forwarding
//
// Request.Forward relays the request statefully (16.6): Max-Forwards decremented, Record-Route
// added when asked (two entries when the transport changes, RFC 5658), a Via with a branch that
// carries the loop-detection hash, and the switch to TCP for requests too large for UDP
// (18.1.1). Targets fork serially by group and in parallel within a group, the best response is
// chosen as 16.7 says, provisional responses and every 2xx are relayed at once, a CANCEL from
// upstream is propagated to the pending branches (16.10), and Timer C (16.8) cancels an INVITE
// branch that stays silent. Proxy.Request sends a request the node itself originates (a
// SUBSCRIBE, a third-party REGISTER) and returns its final response.
package sip
