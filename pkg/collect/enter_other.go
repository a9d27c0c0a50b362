//go:build !linux

package collect

import (
	"errors"
	"io"
)

func ContainerPID(string, string) (int, error) {
	return 0, errors.New("entering a container runs only on Linux")
}

func RunEntered(string, int, []string, io.Reader, io.Writer, io.Writer) error {
	return errors.New("entering a container runs only on Linux")
}

func MountAppFiles(string, int, func(string, ...any)) {}
