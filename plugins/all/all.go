// Package all registers every probe plugin; import it for its side effect.
package all

import (
	// One import per plugin folder. Keep sorted.
)
