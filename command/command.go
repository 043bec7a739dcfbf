// Package command adds `caddy endpoint` to Caddy's command line: verbs
// that manage the endpoint module of a running Caddy through its admin
// API, as `caddy reload` does, and keep endpoints in a directory of files
// (export, diff, apply) for review and version control.
package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "endpoint",
		Usage: "<verb> [--address <interface>] [--json]",
		Short: "Manages the endpoints of a running Caddy (status, export, diff, apply, sync, ...)",
		Long: `
Manages the endpoint module of a running Caddy through its admin API, like
'caddy reload' does: --address names the admin listener (default
` + caddy.DefaultAdminListen + `).

Records written through the admin API are drafts until a sync publishes
them; each sync makes a numbered revision that can be rolled back to.

The export, diff and apply verbs keep endpoints in a directory, one record
per NAME.yaml with its snippet in NAME.star and its schema in
NAME.schema.yaml, .json or .xsd. Keep the directory in Git; review with
'diff', publish with 'apply --sync'. The same code and schema files serve
as code_file and schema_file of endpoints declared in the Caddyfile.

Output is for people (aligned tables, colour on a terminal); --json prints
the admin API's answer for scripts. Errors go to stderr with exit status 1.
`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.PersistentFlags().String("address", caddy.DefaultAdminListen, "Address of the administration listener")
			cmd.PersistentFlags().Bool("json", false, "Print the answer as JSON")
			for _, v := range verbs() {
				cmd.AddCommand(v.cobra())
			}
			cmd.Args = cobra.ArbitraryArgs
			cmd.RunE = func(cmd *cobra.Command, args []string) error {
				if len(args) == 0 {
					return cmd.Help()
				}
				err := fmt.Errorf("unknown verb %q (see 'caddy help endpoint')", args[0])
				printError(cmd.ErrOrStderr(), err)
				cmd.SilenceErrors = true
				return err
			}
		},
	})
}

// verb is one `caddy endpoint` subcommand.
type verb struct {
	use, short, long, example string
	args                      cobra.PositionalArgs
	flags                     func(*cobra.Command)
	run                       func(s *session, args []string) error
}

func verbs() []verb {
	return []verb{
		statusVerb(), listVerb(), exportVerb(), diffVerb(), applyVerb(),
		syncVerb(), revisionsVerb(), rollbackVerb(), testVerb(), logsVerb(),
	}
}

// exitStatus ends a verb with a status and no message: what it found has
// been printed already (a diff, a failing example).
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func (v verb) cobra() *cobra.Command {
	c := &cobra.Command{
		Use:     v.use,
		Short:   v.short,
		Long:    v.long,
		Example: v.example,
		Args:    v.args,
	}
	if v.flags != nil {
		v.flags(c)
	}
	c.RunE = func(cmd *cobra.Command, args []string) error {
		s, err := newSession(cmd)
		if err == nil {
			defer s.stop()
			err = v.run(s, args)
		}
		if err == nil {
			return nil
		}
		cmd.SilenceErrors = true
		var st exitStatus
		if errors.As(err, &st) {
			if st > 1 {
				// Caddy's command line carries a status above 1 this way
				return caddycmd.WrapCommandFuncForCobra(func(caddycmd.Flags) (int, error) {
					return int(st), nil
				})(cmd, args)
			}
			return err
		}
		printError(cmd.ErrOrStderr(), err)
		return err
	}
	return c
}

// printError writes an error on one line, and the details of an answer
// listing several problems one a line below it.
func printError(w io.Writer, err error) {
	fmt.Fprintf(w, "Error: %v\n", err)
	var ae *apiError
	if errors.As(err, &ae) {
		for _, l := range ae.lines() {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
}

// session is what a verb runs with.
type session struct {
	ctx    context.Context
	stop   context.CancelFunc
	cmd    *cobra.Command
	api    *client
	out    io.Writer
	errOut io.Writer
	json   bool
	colour bool
	// errTerminal reports stderr is a terminal (progress is redrawn in place).
	errTerminal bool
}

func newSession(cmd *cobra.Command) (*session, error) {
	addr, _ := cmd.Flags().GetString("address")
	api, err := newClient(addr)
	if err != nil {
		return nil, err
	}
	asJSON, _ := cmd.Flags().GetBool("json")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	s := &session{
		ctx: ctx, stop: stop, cmd: cmd, api: api,
		out: cmd.OutOrStdout(), errOut: cmd.ErrOrStderr(), json: asJSON,
	}
	s.colour = isTerminal(s.out) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
	s.errTerminal = isTerminal(s.errOut)
	return s, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (s *session) flagString(name string) string {
	v, _ := s.cmd.Flags().GetString(name)
	return v
}

func (s *session) flagBool(name string) bool {
	v, _ := s.cmd.Flags().GetBool(name)
	return v
}
