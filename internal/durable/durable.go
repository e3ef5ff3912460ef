// Package durable holds what makes a change to the file system survive a
// power loss, for the packages that keep state in data_dir: the profile
// store, operator state and the export files.
package durable

import (
	"fmt"
	"os"
)

// SyncDir makes a rename, creation or removal in dir durable: a file's own
// fsync covers its contents, not the directory entry that names it.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
