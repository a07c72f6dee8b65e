// Package docs holds the project's documents. It has no code: its tests
// check that docs/PROTOCOL.md and the code it describes (sdk/wire, the
// flags of `xinling serve`, server.Config) say the same thing.
package docs
