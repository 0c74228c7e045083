// Package computepatch holds the tests of this repository's patch to GoMLX's
// pure-Go backend (third_party/compute, see its PATCH.md): products with a few
// LHS rows read the RHS once in its stored layout instead of packing it first.
// The tests run the patched backend through GoMLX's public API, the way the model
// uses it, and compare with a float64 product.
package computepatch
