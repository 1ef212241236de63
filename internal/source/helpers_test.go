package source

import "os"

func writeTestFile(name, data string) error { return os.WriteFile(name, []byte(data), 0o600) }
