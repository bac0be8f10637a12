package msg

import "fmt"

// tbcdDigits are the TBCD symbols of TS 29.002 17.7.8 (TBCD-STRING), by nibble value.
const tbcdDigits = "0123456789*#abc"

// EncodeTBCD encodes a digit string (such as an E.164 MSISDN for the MSISDN AVP, TS 29.329
// 6.3.2 and TS 29.272 7.3.2) as TBCD: two digits per octet, the first in the low nibble,
// an odd count padded with the filler 0xF.
func EncodeTBCD(digits string) ([]byte, error) {
	b := make([]byte, (len(digits)+1)/2)
	for i := range len(digits) {
		n := -1
		for v := range len(tbcdDigits) {
			if tbcdDigits[v] == digits[i] {
				n = v
				break
			}
		}
		if n < 0 {
			return nil, fmt.Errorf("msg: TBCD: %q is not a TBCD digit", digits[i])
		}
		if i%2 == 0 {
			b[i/2] = 0xf0 | byte(n)
		} else {
			b[i/2] = b[i/2]&0x0f | byte(n)<<4
		}
	}
	return b, nil
}

// DecodeTBCD reverses EncodeTBCD; it stops at the first filler nibble.
func DecodeTBCD(b []byte) string {
	out := make([]byte, 0, 2*len(b))
	for _, octet := range b {
		for _, n := range []byte{octet & 0x0f, octet >> 4} {
			if n == 0xf {
				return string(out)
			}
			out = append(out, tbcdDigits[n])
		}
	}
	return string(out)
}
