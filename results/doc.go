// Package results owns run records on disk, comparison tables, plots, model
// export and import.
package results
