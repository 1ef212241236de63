package source

import (
	"errors"
	"io/fs"
	"reflect"
	"testing"
)

func TestParseRegQuery(t *testing.T) {
	out := "\r\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\r\n" +
		"    PendingFileRenameOperations    REG_MULTI_SZ    \\??\\C:\\a.tmp\\0\\0\\??\\C:\\b.tmp\\0\\0\r\n" +
		"    BootExecute    REG_MULTI_SZ    autocheck autochk *\\0\r\n" +
		"    CriticalSectionTimeout    REG_DWORD    0x278d00\r\n" +
		"    (Default)    REG_SZ    \r\n" +
		"    Object Directories    REG_MULTI_SZ    \\Windows\\0\\RPC Control\\0\r\n" +
		"    ProtectionMode    REG_BINARY    01000000\r\n" +
		"\r\nHKEY_USERS\\S-1-5-21-1-2-3-1001\\Control Panel\\Desktop\r\n" +
		"    ScreenSaveTimeOut    REG_SZ    600\r\n"
	got, err := ParseRegQuery(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []RegQueryKey{
		{Key: `HKLM\SYSTEM\CurrentControlSet\Control\Session Manager`, Values: map[string]RegValue{
			"PendingFileRenameOperations": {Type: "REG_MULTI_SZ", Value: []string{`\??\C:\a.tmp`, "", `\??\C:\b.tmp`, ""}},
			"BootExecute":                 {Type: "REG_MULTI_SZ", Value: []string{"autocheck autochk *"}},
			"CriticalSectionTimeout":      {Type: "REG_DWORD", Value: uint64(0x278d00)},
			"":                            {Type: "REG_SZ", Value: ""},
			"Object Directories":          {Type: "REG_MULTI_SZ", Value: []string{`\Windows`, `\RPC Control`}},
			"ProtectionMode":              {Type: "REG_BINARY", Value: []byte{1, 0, 0, 0}},
		}},
		{Key: `HKU\S-1-5-21-1-2-3-1001\Control Panel\Desktop`, Values: map[string]RegValue{
			"ScreenSaveTimeOut": {Type: "REG_SZ", Value: "600"},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%#v\nwant\n%#v", got, want)
	}
	if _, err := ParseRegQuery("ERROR: The system was unable to find the specified registry key or value.\r\n"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing key: %v, want fs.ErrNotExist", err)
	}
	for _, bad := range []string{"", "ERROR: Access is denied.\n", "    X    REG_SZ    y\n", "HKEY_LOCAL_MACHINE\\X\n    N    REG_DWORD    zz\n", "HKLX\\X\n"} {
		if _, err := ParseRegQuery(bad); err == nil || errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%q: %v, want an error other than not-exist", bad, err)
		}
	}
}

func FuzzParseRegQuery(f *testing.F) {
	f.Add("HKEY_LOCAL_MACHINE\\SOFTWARE\\X\r\n    A    REG_DWORD    0x1\r\n    B    REG_MULTI_SZ    a\\0b\\0\r\n")
	f.Add("ERROR: The system was unable to find the specified registry key or value.\r\n")
	f.Add("HKEY_USERS\\S-1-5-18\n    (Default)    REG_BINARY    0a0b\n")
	f.Fuzz(func(t *testing.T, s string) {
		keys, err := ParseRegQuery(s)
		if err == nil && len(keys) == 0 {
			t.Errorf("%q: no key and no error", s)
		}
		for _, k := range keys {
			if k.Values == nil {
				t.Errorf("%q: key %q with nil values", s, k.Key)
			}
		}
	})
}
