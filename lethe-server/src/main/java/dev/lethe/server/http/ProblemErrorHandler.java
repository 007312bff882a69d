package dev.lethe.server.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * The answer to a request Jetty refuses before Lethe sees it (a path that is not UTF-8, an ambiguous
 * path, a malformed request line): an RFC 9457 problem, as every other error of the API, not Jetty's
 * HTML page. The detail is Jetty's reason ("Bad UTF-8 encoding") when it is plain words; the request's
 * own text is never repeated.
 */
final class ProblemErrorHandler extends ErrorHandler {
    /** Seconds a client is told to wait before retrying a request refused because the server is stopping. */
    static final int RETRY_AFTER_STOPPING_SECONDS = 2;

    private final java.util.function.BooleanSupplier stopping;

    /** {@code stopping}: whether the server is stopping, when Jetty refuses new requests with 503. */
    ProblemErrorHandler(java.util.function.BooleanSupplier stopping) {
        this.stopping = stopping;
    }

    @Override
    protected void generateResponse(
            Request request, Response response, int code, String message, Throwable cause, Callback callback) {
        String title = HttpStatus.getMessage(code);
        ObjectNode problem = Hub.JSON.createObjectNode();
        problem.put("type", "about:blank");
        problem.put("title", title);
        problem.put("status", code);
        boolean refusedStopping = code == HttpStatus.SERVICE_UNAVAILABLE_503 && stopping.getAsBoolean();
        problem.put(
                "detail",
                refusedStopping
                        ? "the server is stopping (finishing the requests in flight): retry in a few seconds, when it"
                                + " has restarted or on another instance"
                        : message != null && message.matches("[A-Za-z0-9 ,.:()'-]{1,200}")
                                ? message
                                : title + " (refused by the HTTP server before it reached the API)");
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, LetheServer.PROBLEM_JSON + "; charset=utf-8");
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
        if (refusedStopping) {
            response.getHeaders().put(HttpHeader.RETRY_AFTER, Integer.toString(RETRY_AFTER_STOPPING_SECONDS));
            response.getHeaders().put(HttpHeader.CONNECTION, "close");
        }
        response.write(true, ByteBuffer.wrap(problem.toString().getBytes(StandardCharsets.UTF_8)), callback);
    }
}
