package main

import (
	"net/http"

	"github.com/labstack/echo/v5"
)

// wrapMiddleware is echo.WrapMiddleware with the handler's error handled
// inside the middleware, as Echo's RequestLogger does. With
// echo.WrapMiddleware a handler's error (echo.ErrUnauthorized, a 404)
// travels out of the middleware and Echo writes the error page afterwards,
// into the response writer the middleware handed to the handler: with
// Config.Inject that writer has finished its response and is gone, so the
// error page is lost or worse. Here the error page is written while the
// middleware still runs, and the context gets Echo's own response back.
func wrapMiddleware(m func(http.Handler) http.Handler) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			req, res := c.Request(), c.Response()
			req.Pattern = c.Path()
			for _, p := range c.PathValues() {
				req.SetPathValue(p.Name, p.Value)
			}
			m(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c.SetRequest(r)
				c.SetResponse(echo.NewResponse(w, c.Logger()))
				if err := next(c); err != nil {
					c.Echo().HTTPErrorHandler(c, err)
				}
			})).ServeHTTP(res, req)
			// res saw every byte the middleware wrote: its status and size
			// are what went out, for the middleware outside this one.
			c.SetResponse(res)
			return nil
		}
	}
}
