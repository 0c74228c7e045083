package gpt2

import "github.com/logitlens-go/logitlens/hfhub"

// HubOptions configures ResolveModel (see package hfhub).
type HubOptions = hfhub.Options

// ResolveModel returns a local folder holding the model files for ref, a hub id
// ("gpt2", "openai-community/gpt2@main", …) or a local folder: see hfhub.Resolve.
func ResolveModel(ref string, opts HubOptions) (string, error) { return hfhub.Resolve(ref, opts) }
