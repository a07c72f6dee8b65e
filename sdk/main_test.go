package sdk

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine outlives the tests: every test
// destroys its instances and closes its servers.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
