package main

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// account is the user -Z names, looked up before anything is opened so
// that a typo fails early.
type account struct {
	name     string
	uid, gid int
	groups   []int
}

func lookupAccount(name string) (*account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if id, convErr := strconv.Atoi(name); convErr == nil {
			u, err = user.LookupId(strconv.Itoa(id))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("-Z %s: no such user", name)
	}
	a := &account{name: u.Username}
	if a.uid, err = strconv.Atoi(u.Uid); err != nil {
		return nil, fmt.Errorf("-Z %s: user id %q is not a number", name, u.Uid)
	}
	if a.gid, err = strconv.Atoi(u.Gid); err != nil {
		return nil, fmt.Errorf("-Z %s: group id %q is not a number", name, u.Gid)
	}
	// Supplementary groups as the user has them, as initgroups(3) would
	// set; root's own (a disk or adm group) must not stay.
	ids, _ := u.GroupIds()
	for _, g := range ids {
		if n, err := strconv.Atoi(g); err == nil {
			a.groups = append(a.groups, n)
		}
	}
	return a, nil
}

// dropPrivileges becomes the account, as tcpdump -Z does once the capture
// is open: groups first, then the group, then the user, after which
// nothing can take root back. Files already open stay usable; those
// still to be written (-w) are given to the account first. Without root
// there is nothing to drop, and -Z does nothing, as with tcpdump.
func dropPrivileges(a *account, files ...*os.File) error {
	if os.Geteuid() != 0 {
		return nil
	}
	for _, f := range files {
		if f != nil {
			if err := f.Chown(a.uid, a.gid); err != nil {
				return fmt.Errorf("-Z %s: %v", a.name, err)
			}
		}
	}
	// Go applies each of these to every thread of the process (Linux).
	if err := syscall.Setgroups(a.groups); err != nil {
		return fmt.Errorf("-Z %s: setgroups: %v", a.name, err)
	}
	if err := syscall.Setgid(a.gid); err != nil {
		return fmt.Errorf("-Z %s: setgid: %v", a.name, err)
	}
	if err := syscall.Setuid(a.uid); err != nil {
		return fmt.Errorf("-Z %s: setuid: %v", a.name, err)
	}
	if syscall.Setuid(0) == nil {
		return fmt.Errorf("-Z %s: root could be taken back after setuid", a.name)
	}
	return nil
}
