// esbuild bundles `import "./styles.css"` into a separate widget.css next to widget.js.
declare module "*.css";
