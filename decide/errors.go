package decide

import "errors"

// errTooDeep is a condition nesting segments deeper than the VM stack.
var errTooDeep = errors.New("decide: segments nested too deeply")
