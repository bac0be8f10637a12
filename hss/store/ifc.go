package store

import "github.com/imscore/imscore/pkg/ifc"

// checkIFCs checks an iFC set the way the S-CSCF will read it (TS 29.228 Annex B.2.2): an
// <InitialFilterCriteriaSet> root or bare <InitialFilterCriteria> elements, each with a Priority
// (unique in the set), well-formed trigger points and an ApplicationServer with a ServerName.
func checkIFCs(doc string) error {
	ifcs, err := ifc.ParseIFCs([]byte(doc))
	if err != nil {
		return err
	}
	return ifc.ValidateIFCs(ifcs)
}
