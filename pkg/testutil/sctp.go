package testutil

import (
	"os"
	"syscall"
	"testing"
)

// SCTPTestEnv is set to 1 by test/sctp/run.sh inside the qemu-booted kernel that has SCTP, so that an
// SCTP test fails there instead of skipping when SCTP does not work.
const SCTPTestEnv = "IMS_SCTP_TEST"

// NeedSCTP skips the test when the kernel cannot open an SCTP socket (most CI and container kernels
// have no SCTP module), or fails it when IMS_SCTP_TEST=1.
func NeedSCTP(t testing.TB) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, syscall.IPPROTO_SCTP)
	if err == nil {
		syscall.Close(fd)
		return
	}
	if os.Getenv(SCTPTestEnv) == "1" {
		t.Fatalf("SCTP socket: %v (required: %s=1)", err, SCTPTestEnv)
	}
	t.Skipf("kernel has no SCTP (%v); run `make test-sctp` to run this test in a qemu-booted kernel", err)
}
