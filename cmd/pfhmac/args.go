package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"strings"
)

// pfhmac's rule for what it typed back: nothing but the names of its own
// commands and flags. A secret typed in the wrong place (a positional
// argument, -SECRET, the value of an unknown flag, help SECRET) would
// otherwise land in a terminal log, a CI log or a ticket; so an argument
// pfhmac cannot use is named by its position and never shown.

// firstArg is the position of a subcommand's first argument: pfhmac's
// arguments count from 1, and 1 is the command.
const firstArg = 2

// notShown ends every message that names an argument by position.
const notShown = "(not shown: it may be a secret)"

// commands are the names run dispatches on.
var commands = []string{"sign", "verify", "doctor", "help"}

// unknownCommand refuses the command at position pos without repeating
// it. A -secret flag before any command gets the refusal it gets after.
func unknownCommand(prefix, cmd string, pos int) error {
	name := strings.TrimLeft(cmd, "-")
	if strings.HasPrefix(cmd, "-") && (name == "secret" || strings.HasPrefix(name, "secret=")) {
		return usageErrorf("%s%s", prefix, secretFlagRefusal)
	}
	return usageErrorf("%sargument #%d is not a command %s; the commands are %s%s",
		prefix, pos, notShown, strings.Join(commands, ", "), didYouMean(cmd, commands, ""))
}

// unexpectedArg refuses a positional argument a command does not take.
func unexpectedArg(cmd string, pos int) error {
	return usageErrorf("%s: unexpected argument #%d %s", cmd, pos, notShown)
}

// parseFlags parses args, which start at position first, and turns the
// flag package's errors, which quote what was typed, into errors that
// name only fs's own flags and anything else by its position.
func (fs *commandFlags) parseFlags(args []string, first int) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	if fs.secret.set || (err != nil && strings.HasSuffix(err.Error(), " -secret")) {
		return usageErrorf("%s: %s", fs.Name(), secretFlagRefusal)
	}
	if err == nil {
		return nil
	}
	msg := err.Error()
	// After a failed Parse, fs.Args() is what follows the offending
	// argument, except for bad syntax, which Parse does not consume.
	pos := first + len(args) - len(fs.Args()) - 1
	switch {
	case strings.HasPrefix(msg, "flag needs an argument: -"):
		// It names one of fs's flags, and nothing else.
		return usageErrorf("%s: %s", fs.Name(), msg)
	case strings.HasPrefix(msg, "flag provided but not defined: -"):
		name := strings.TrimPrefix(msg, "flag provided but not defined: -")
		return usageErrorf("%s: argument #%d is not a flag of %s %s; %s takes %s%s",
			fs.Name(), pos, fs.Name(), notShown, fs.Name(), fs.flagList(), didYouMean(name, fs.flagNames(), "-"))
	case strings.HasPrefix(msg, "invalid value "):
		for _, name := range fs.flagNames() {
			if strings.Contains(msg, " for flag -"+name+": ") {
				hint := ""
				if name == "ttl" {
					hint = "; -ttl takes a duration such as 1h or 30m"
				}
				return usageErrorf("%s: argument #%d is not a valid value for -%s %s%s", fs.Name(), pos, name, notShown, hint)
			}
		}
		return usageErrorf("%s: argument #%d is not a valid flag value %s", fs.Name(), pos, notShown)
	default: // "bad flag syntax: ..."
		return usageErrorf("%s: argument #%d is not a flag of %s %s; %s takes %s",
			fs.Name(), pos+1, fs.Name(), notShown, fs.Name(), fs.flagList())
	}
}

// flagNames lists fs's flags but -secret, which exists only to be refused.
func (fs *commandFlags) flagNames() []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "secret" {
			names = append(names, f.Name)
		}
	})
	return names
}

// flagList writes fs's flags for an error message: -a, -b and -c.
func (fs *commandFlags) flagList() string {
	names := fs.flagNames()
	for i := range names {
		names[i] = "-" + names[i]
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// didYouMean suggests the one name within two edits of typed, as
// " (did you mean -user?)". It tells no more of what was typed than that
// it is close to a name pfhmac knows.
func didYouMean(typed string, names []string, prefix string) string {
	typed = strings.ToLower(strings.TrimLeft(typed, "-"))
	best, bestDist := "", 3
	for _, n := range names {
		if d := editDistance(typed, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + prefix + best + "?)"
}

// editDistance is the Levenshtein distance between a and b, in bytes.
// Names are short and ASCII, and a long argument is far from all of them.
func editDistance(a, b string) int {
	if len(a) > 32 {
		return len(a)
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// argHolding returns the index of the first argument that holds secret, or
// -1. Short secrets are matched whole only: a one-letter test key is in
// every username.
func argHolding(args []string, secret string) int {
	const minSubstring = 8
	for i, a := range args {
		if a == secret || (len(secret) >= minSubstring && strings.Contains(a, secret)) {
			return i
		}
	}
	return -1
}

// fileError reports a file that cannot be read. A path that names no file
// is not shown: -secret-file SECRET is an easy slip.
func fileError(cmd, what, flagName string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: reading %s: -%s names no file that exists (the path is not shown: it may be a secret)", cmd, what, flagName)
	}
	return fmt.Errorf("%s: reading %s: %w", cmd, what, err)
}
