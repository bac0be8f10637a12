// Package testutil holds helpers shared by the end-to-end tests: finding the real peers
// (tshark, sipp, freeDiameterd, qemu) and capturing traffic for Wireshark checks.
package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// RequireToolsEnv is set to 1 by `make test` after it has installed the test tools, so that a
// missing tool fails the run instead of silently skipping the test.
const RequireToolsEnv = "IMS_REQUIRE_TOOLS"

// NeedTool returns the path of the named executable. When it is missing the test is skipped,
// or fails when IMS_REQUIRE_TOOLS=1.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv(RequireToolsEnv) == "1" {
		t.Fatalf("%s not found in PATH (required: %s=1)", name, RequireToolsEnv)
	}
	t.Skipf("%s not installed; run `make test` to install the test tools", name)
	return ""
}
