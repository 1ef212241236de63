package agent

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

var procWTSSendMessageW = windows.NewLazySystemDLL("wtsapi32.dll").NewProc("WTSSendMessageW")

// runningAsService: the agent runs in session 0, where services run and
// no one sees a desktop.
func runningAsService() bool {
	var s uint32
	if err := windows.ProcessIdToSessionId(windows.GetCurrentProcessId(), &s); err != nil {
		return true
	}
	return s == 0
}

// consoleMessage shows a message box in the active console session
// (WTSSendMessage, not waiting for the answer).
func consoleMessage(title, body string) error {
	session := windows.WTSGetActiveConsoleSessionId()
	if session == wtsNoSession {
		return ErrNoSession
	}
	t, err := windows.UTF16FromString(title)
	if err != nil {
		return err
	}
	b, err := windows.UTF16FromString(body)
	if err != nil {
		return err
	}
	var resp uint32
	// Lengths are in bytes, without the terminating zero.
	r, _, cerr := procWTSSendMessageW.Call(0, uintptr(session),
		uintptr(unsafe.Pointer(&t[0])), uintptr((len(t)-1)*2),
		uintptr(unsafe.Pointer(&b[0])), uintptr((len(b)-1)*2),
		wtsMessageStyle, 0, uintptr(unsafe.Pointer(&resp)), 0)
	if r == 0 {
		return fmt.Errorf("WTSSendMessage to session %d: %w", session, cerr)
	}
	return nil
}
