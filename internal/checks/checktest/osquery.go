package checktest

import (
	"errors"
	"strings"
)

// ParseOsqueryTable reads the table osqueryi prints for a query (a header
// row and data rows between "+---+" rules, cells separated by "|"), so a
// captured osquery answer can be compared with what herd reads. The
// prompt line before the table is skipped.
func ParseOsqueryTable(text string) ([]map[string]string, error) {
	var header []string
	var rows []map[string]string
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			continue // the prompt, the rules, blank lines
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if header == nil {
			header = cells
			continue
		}
		if len(cells) != len(header) {
			return rows, errors.New("osquery table: a row with another number of cells than the header")
		}
		row := map[string]string{}
		for i, h := range header {
			row[h] = cells[i]
		}
		rows = append(rows, row)
	}
	if header == nil {
		return nil, errors.New("osquery table: no header row")
	}
	return rows, nil
}
