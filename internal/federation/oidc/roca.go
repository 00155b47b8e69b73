package oidc

import "math/big"

// rocaPrimes are the small primes of the ROCA fingerprint (CVE-2017-15361):
// an Infineon-generated modulus N is 65537^a mod M for a primorial M, so
// N mod p lies in the subgroup 65537 generates modulo each p; a random
// modulus does so for all of them with negligible probability.
var rocaPrimes = []int64{3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
	101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167}

// rocaSubgroups[i] marks the residues 65537^k mod rocaPrimes[i].
var rocaSubgroups = func() [][]bool {
	out := make([][]bool, len(rocaPrimes))
	for i, p := range rocaPrimes {
		in := make([]bool, p)
		g := int64(65537) % p
		x := int64(1)
		for !in[x] {
			in[x] = true
			x = x * g % p
		}
		out[i] = in
	}
	return out
}()

// rocaVulnerable reports whether n has the ROCA fingerprint: its private
// key can be factored, so a key with it is refused.
func rocaVulnerable(n *big.Int) bool {
	var m, p big.Int
	for i, prime := range rocaPrimes {
		p.SetInt64(prime)
		if !rocaSubgroups[i][m.Mod(n, &p).Int64()] {
			return false
		}
	}
	return true
}
