package hss

import "github.com/imscore/imscore/hss/store"

// Store is the node's subscriber store, open from New until Run returns. imslab provisions its
// demo subscribers through it before Run, without going through the REST API.
func (n *Node) Store() *store.DB { return n.store }
