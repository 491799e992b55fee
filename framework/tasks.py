"""The tasks app: the demo app's JSON task list, rewritten on mini.

Serve it from the repository root with
    cargo run -p stage-06 -- framework/tasks.py:application
"""

from mini import App, HTTPError, Response
from mini.middleware import gzip, mount, timing


# ANCHOR: create_app
def create_app():
    app = App()
    tasks = [{"id": 1, "title": "Read the middleware chapter", "done": False}]

    def find(task_id):
        for task in tasks:
            if task["id"] == task_id:
                return task
        raise HTTPError(404, f"no task {task_id}")

    @app.route("/tasks")
    def list_tasks(request):
        done = request.arg("done")  # /tasks?done=true
        if done is None:
            return tasks
        return [task for task in tasks if task["done"] == (done == "true")]

    @app.route("/tasks", methods=["POST"])
    def add_task(request):
        data = request.json()
        title = data.get("title") if isinstance(data, dict) else None
        if not isinstance(title, str) or not title.strip():
            raise HTTPError(400, 'send {"title": "..."}')
        task = {"id": len(tasks) + 1, "title": title, "done": False}
        tasks.append(task)
        # SCRIPT_NAME first: the app may be mounted under a prefix.
        where = f"{request.script_name}/tasks/{task['id']}"
        return Response.json(task, 201, [("Location", where)])

    @app.route("/tasks/<int:id>")
    def show_task(request):
        return find(request.params["id"])
    # ANCHOR_END: create_app

    # ANCHOR: more_routes
    @app.route("/tasks/<int:id>", methods=["PATCH"])
    def update_task(request):
        task, data = find(request.params["id"]), request.json()
        if not isinstance(data, dict):
            raise HTTPError(400, 'send {"done": true}')
        task["done"] = bool(data.get("done", task["done"]))
        return task

    @app.route("/tasks.txt")
    def checklist(request):
        def lines():  # streamed: one chunk per task
            for task in tasks:
                yield f"[{'x' if task['done'] else ' '}] {task['title']}\n".encode()
        return Response(lines())

    @app.route("/")
    def home(request):
        seen = request.cookies().get("visits", "0")
        visits = int(seen) + 1 if seen.isdigit() else 1
        response = Response(f"Tasks: GET or POST /tasks (visit {visits})\n")
        response.set_cookie("visits", str(visits))
        return response

    return app
    # ANCHOR_END: more_routes


# ANCHOR: application
# What the server calls: the outermost wrapper sees the request first and
# the response last, so Server-Timing comes after gzip's headers.
application = timing(gzip(create_app()))

# The same, mounted under /api the way a larger site would: /api/tasks
# reaches the app as PATH_INFO /tasks, with SCRIPT_NAME /api.
mounted = mount("/api", timing(gzip(create_app())))
# ANCHOR_END: application
